// Why Marathon has not placed an app's instances: GET /v2/queue, in words an operator can
// act on ("2 of 3 Drillbits placed; 1 waiting for offers: insufficient mem on every agent").
import type { MarathonApp } from './app-definition.js';

export interface QueueEntry {
  app: { id: string; mem?: number; cpus?: number; disk?: number; constraints?: string[][] };
  count: number;
  delay?: { timeLeftSeconds: number; overdue: boolean };
  since?: string;
  processedOffersSummary?: {
    processedOffersCount?: number;
    unusedOffersCount?: number;
    rejectSummaryLastOffers?: { reason: string; declined: number; processed: number }[];
  };
}

/** Our app's entry of GET /v2/queue's answer, if it waits. */
export function queueEntry(body: unknown, appId: string): QueueEntry | null {
  const queue = (body as { queue?: QueueEntry[] } | null)?.queue ?? [];
  return queue.find((q) => q.app?.id === appId && q.count > 0) ?? null;
}

/** One line: placed vs wanted, and the offer-matching reasons. Null when nothing waits. */
export function placement(entry: QueueEntry | null, placed: number, wanted: number, app: Pick<MarathonApp, 'mem' | 'cpus' | 'disk'> & { constraints?: string[][] }): string | null {
  if (!entry) return null;
  const waiting = entry.count;
  const head = `${placed} of ${wanted} Drillbits placed; ${waiting} waiting for offers`;
  if (entry.delay && !entry.delay.overdue && entry.delay.timeLeftSeconds > 0) {
    return `${head}: launch delayed ${entry.delay.timeLeftSeconds} s after failed tasks (Marathon's backoff; see the app's lastTaskFailure)`;
  }
  const reasons = (entry.processedOffersSummary?.rejectSummaryLastOffers ?? []).filter((r) => r.declined > 0);
  if (reasons.length === 0) return `${head}: no offer received yet (are agents registered, with the role Marathon uses?)`;
  const words = reasons.map((r) => {
    const where = r.processed > 0 && r.declined >= r.processed ? 'on every agent' : `on ${r.declined} of ${r.processed} offers`;
    return `${REASON[r.reason]?.(app) ?? r.reason} ${where}`;
  });
  return `${head}: ${words.join('; ')}`;
}

const REASON: Record<string, (app: Pick<MarathonApp, 'mem' | 'cpus' | 'disk'> & { constraints?: string[][] }) => string> = {
  InsufficientMemory: (app) => `insufficient mem (a Drillbit needs ${app.mem} MB: scheduler.marathon.mem)`,
  InsufficientCpus: (app) => `insufficient cpus (a Drillbit needs ${app.cpus}: scheduler.marathon.cpus)`,
  InsufficientDisk: (app) => `insufficient disk (a Drillbit needs ${app.disk} MB)`,
  InsufficientPorts: () => 'not enough free ports (4 per Drillbit)',
  InsufficientGpus: () => 'insufficient gpus',
  UnfulfilledConstraint: (app) => `constraints ${JSON.stringify(app.constraints ?? [])} not met (scheduler.marathon.constraints; hostname UNIQUE needs one agent per Drillbit)`,
  UnfulfilledRole: () => "offers of another role (Marathon's mesos_role)",
  NoCorrespondingReservationFound: () => 'no matching reservation',
  AgentMaintenance: () => 'agent in maintenance',
  DeclinedScarceResources: () => 'only agents with scarce resources (GPUs)',
};
