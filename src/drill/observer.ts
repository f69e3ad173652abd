// The one place that reads Drill's side of the Drillbits: the cluster view from
// /cluster.json, whether a Drillbit is idle (/queriesCount), and its retirement by Drill's
// graceful shutdown. Both schedulers merge their process or task view with it in list();
// the pool controller asks it before retiring a Drillbit. No policy here: facts only.
import type { Drillbit, DrillbitState } from '../schedulers/scheduler.js';
import { DrillClient, type ClusterDrillbit } from './client.js';

/** One Drillbit as its scheduler sees the process or task, before Drill's view is added. */
export interface Member extends Omit<Drillbit, 'state' | 'detail'> {
  /** launching: placed, not yet running (Marathon staging); running: process or task up; ended: gone, unasked or not. */
  status: 'launching' | 'running' | 'ended';
  /** The scheduler's words for where it stands (e.g. "TASK_STAGING on agent-1"). */
  detail?: string;
}

/** What a Drillbit is in Drill's own view: its state there, ABSENT from it, or UNKNOWN (no Drillbit answered). */
export type DrillView = 'STARTUP' | 'ONLINE' | 'QUIESCENT' | 'OFFLINE' | 'ABSENT' | 'UNKNOWN';

/** The Drill side the controller needs (tests give an in-memory one). */
export interface DrillSide {
  /** Drill's view of the cluster from the first of `bits` that answers (oldest first); null when none does. */
  cluster(bits: readonly Pick<Drillbit, 'host' | 'httpPort' | 'startedAt'>[]): Promise<ClusterDrillbit[] | null>;
  /** No query and no fragment on it by Drill's own count (false when it does not answer). */
  isIdle(bit: Pick<Drillbit, 'host' | 'httpPort'>): Promise<boolean>;
  /** Ask Drill's graceful shutdown (QUIESCENT, finish running work, exit); false when it does not answer. */
  retire(bit: Pick<Drillbit, 'host' | 'httpPort'>): Promise<boolean>;
}

export class DrillObserver implements DrillSide {
  constructor(private readonly timeoutMs = 2_000) {}

  async cluster(bits: readonly Pick<Drillbit, 'host' | 'httpPort' | 'startedAt'>[]): Promise<ClusterDrillbit[] | null> {
    // One read serves every Drillbit: they all see the same ZooKeeper.
    const candidates = bits.filter((b) => b.httpPort > 0).sort((a, b) => a.startedAt - b.startedAt);
    for (const bit of candidates) {
      try {
        return (await new DrillClient(`http://${bit.host}:${bit.httpPort}`, this.timeoutMs).cluster()).drillbits;
      } catch {
        /* not serving HTTP yet; ask the next one */
      }
    }
    return null;
  }

  async isIdle(bit: Pick<Drillbit, 'host' | 'httpPort'>): Promise<boolean> {
    try {
      const counts = await new DrillClient(`http://${bit.host}:${bit.httpPort}`, this.timeoutMs).queriesCount();
      return counts.queriesCount === 0 && counts.fragmentsCount === 0;
    } catch {
      return false;
    }
  }

  async retire(bit: Pick<Drillbit, 'host' | 'httpPort'>): Promise<boolean> {
    try {
      await new DrillClient(`http://${bit.host}:${bit.httpPort}`, this.timeoutMs).gracefulShutdown();
      return true;
    } catch {
      return false;
    }
  }

  /** The members with their states, Drill's view read once for all of them. */
  async observe(members: readonly Member[]): Promise<Drillbit[]> {
    const view = await this.cluster(members.filter((m) => m.status === 'running'));
    return members.map((m) => merge(m, view));
  }
}

/** Where `bit` stands in Drill's view (matched on address and user port, as Drill names a Drillbit). */
export function drillView(bit: Pick<Drillbit, 'host' | 'userPort'>, view: readonly ClusterDrillbit[] | null): DrillView {
  if (view === null) return 'UNKNOWN';
  const entry = view.find((d) => d.address === bit.host && Number(d.userPort) === bit.userPort);
  if (!entry) return 'ABSENT';
  return (['STARTUP', 'ONLINE', 'QUIESCENT', 'OFFLINE'] as const).find((s) => s === entry.state) ?? 'OFFLINE';
}

/** A member's state: its process decides FAILED, Drill decides ONLINE and DRAINING. Pure. */
export function merge(member: Member, view: readonly ClusterDrillbit[] | null): Drillbit {
  const { status, detail, ...bit } = member;
  const drill = status === 'running' ? drillView(member, view) : 'UNKNOWN';
  let state: DrillbitState = 'STARTING';
  let words = detail;
  if (status === 'ended') state = 'FAILED';
  else if (drill === 'ONLINE') state = 'ONLINE';
  else if (drill === 'QUIESCENT' || drill === 'OFFLINE') {
    state = 'DRAINING';
    words = `Drill reports it ${drill}`;
  } else if (drill === 'ABSENT') words = detail ?? 'not (or no longer) registered in Drill';
  return { ...bit, state, ...(words ? { detail: words } : {}) };
}
