// The Marathon scheduler: Drillbits as the tasks of one Marathon app. Marathon owns
// the tasks (placement, restarts); this class only changes `instances` upwards, kills
// the Drillbits it drained (with scale=true, so Marathon does not replace them), and
// reads state from Marathon (tasks, failures) cross-checked with Drill's /cluster.json.
// Everything it knows can be read back from Marathon, so a restarted gateway adopts
// the app and its tasks as they are.
import type { Config } from '../../config/load.js';
import { DrillClient, type ClusterDrillbit } from '../../drill/client.js';
import { DromedarError } from '../../util/errors.js';
import { sleep } from '../../util/process.js';
import type { Drillbit, DrillbitState, Scheduler } from '../scheduler.js';
import { drillbitsApp, HTTP_PORT_INDEX, SPEC_LABEL, type MarathonApp, type MarathonSettings } from './app-definition.js';
import { MarathonClient, type MarathonTask, type TaskFailure } from './client.js';

export interface MarathonSchedulerOptions {
  log?: (line: string) => void;
  /** How long a task may take to come ONLINE (staging included) before it counts as failed. */
  startTimeoutMs?: number;
}

type MarathonConfig = Pick<Config, 'dataDir' | 'storage' | 'scheduler' | 'pool'>;

/** A task this gateway has seen, kept after Marathon forgets it so its failure stays visible. */
interface Bit {
  id: string;
  host: string;
  ports: number[];
  startedAt: number;
  draining: boolean;
  failure?: string;
}

// Mesos states after which the task's process is gone (or its agent is).
const ENDED = new Set(['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_LOST', 'TASK_ERROR', 'TASK_DROPPED', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR', 'TASK_UNKNOWN', 'TASK_UNREACHABLE']);
const LAUNCHING = new Set(['TASK_STAGING', 'TASK_STARTING']);

export class MarathonScheduler implements Scheduler {
  readonly kind = 'marathon';
  readonly capacity = null;
  readonly client: MarathonClient;
  private readonly settings: MarathonSettings;
  private readonly definition: MarathonApp;
  private readonly startTimeoutMs: number;
  private readonly bits = new Map<string, Bit>();
  /** Tasks killed with scale=true here: Marathon may list them a little longer while they die. */
  private readonly retired = new Set<string>();
  private started = false;

  constructor(
    private readonly config: MarathonConfig,
    private readonly options: MarathonSchedulerOptions = {},
  ) {
    this.settings = config.scheduler.marathon;
    this.definition = drillbitsApp(config);
    this.client = new MarathonClient(this.settings, options.log);
    this.startTimeoutMs = options.startTimeoutMs ?? config.pool.startTimeoutMs;
  }

  get appId(): string {
    return this.settings.appId;
  }

  /** Reads the app if there is one and adopts its tasks; creates nothing (scaleTo does). */
  async start(): Promise<void> {
    if (this.started) return;
    const app = await this.client.app(this.appId);
    if (app) {
      this.remember(app.tasks ?? []);
      this.log(`adopted Marathon app ${this.appId} at ${this.client.where}: ${app.instances} instances, ${app.tasks?.length ?? 0} tasks`);
      if (app.labels?.[SPEC_LABEL] !== this.definition.labels[SPEC_LABEL]) {
        // Updating it would restart every Drillbit (and their queries): an operator's call.
        this.log(`Marathon app ${this.appId} was defined by another configuration; running it as it is (redeploy it to apply the current one)`);
      }
    }
    this.started = true;
  }

  async list(): Promise<Drillbit[]> {
    const app = await this.client.app(this.appId);
    const tasks = app?.tasks ?? [];
    // Retired tasks matter only while Marathon still lists them.
    for (const id of this.retired) if (!tasks.some((task) => task.id === id)) this.retired.delete(id);
    this.remember(tasks);
    const view = await clusterView(tasks.filter((task) => task.state === 'TASK_RUNNING'));
    const out: Drillbit[] = [];
    for (const bit of [...this.bits.values()]) {
      const state = this.observe(bit, tasks.find((task) => task.id === bit.id), view, app?.lastTaskFailure);
      if (state === 'GONE') {
        this.bits.delete(bit.id);
        continue;
      }
      const [userPort = 0, controlPort = 0, dataPort = 0, httpPort = 0] = bit.ports;
      out.push({ id: bit.id, host: bit.host, userPort, controlPort, dataPort, httpPort, state, startedAt: bit.startedAt, ...(bit.failure ? { failure: bit.failure } : {}) });
    }
    return out;
  }

  /** Raises `instances` so that `n` tasks run besides the draining and failed ones Marathon still counts. */
  async scaleTo(n: number): Promise<void> {
    this.assertStarted();
    const app = await this.client.app(this.appId);
    if (!app) {
      if (n === 0) return;
      if (await this.client.create(drillbitsApp(this.config, n))) {
        this.log(`created Marathon app ${this.appId} with ${n} instances`);
        return;
      }
    }
    // Recomputed on every attempt: drains may lower `instances` while a deployment holds the app.
    await this.client.deploy(this.appId, async () => {
      const current = await this.client.app(this.appId);
      if (!current) throw new DromedarError('marathon_error', `Marathon app ${this.appId} disappeared while scaling it`, 502);
      const wanted = n + (current.tasks ?? []).filter((task) => this.notServing(task.id)).length;
      if (current.instances >= wanted) return null;
      this.log(`scaling Marathon app ${this.appId} from ${current.instances} to ${wanted} instances`);
      return { method: 'PUT', path: `/v2/apps${this.appId}`, body: { instances: wanted } };
    });
  }

  /**
   * Drill's graceful shutdown, then the task's kill with scale=true. The task's script
   * keeps the task up after a graceful exit, so Marathon sees no end to replace.
   */
  async drain(id: string): Promise<void> {
    const task = await this.task(id);
    if (!task) {
      this.forget(id);
      return;
    }
    const bit = this.remember([task])[0]!;
    bit.draining = true;
    const http = task.ports?.[HTTP_PORT_INDEX];
    let asked = false;
    if (http !== undefined) {
      try {
        await DrillClient.at(task.host, http).gracefulShutdown();
        asked = true;
        this.log(`draining ${id} (${task.host}:${http})`);
      } catch {
        this.log(`${id} does not answer over HTTP; killing its task (SIGTERM runs the same shutdown)`);
      }
    }
    if (asked && !(await this.waitUntil(() => this.leftDrill(bit), this.settings.drainTimeoutMs))) {
      this.log(`${id} did not finish draining in ${this.settings.drainTimeoutMs} ms; killing its task`);
    }
    if (!(await this.client.killTask(this.appId, id, true))) {
      this.log(`${id} had ended before its kill; Marathon may have started a replacement`);
    }
    this.retired.add(id);
    const graceMs = (this.settings.taskKillGracePeriodSeconds + 30) * 1000;
    if (!(await this.waitUntil(async () => (await this.task(id)) === null, graceMs))) {
      this.log(`Marathon still lists ${id} ${graceMs} ms after its kill`);
    }
    this.forget(id);
  }

  /** Forgets a failed Drillbit; a task Marathon still runs for it is killed with scale=true. */
  async remove(id: string): Promise<void> {
    const task = await this.task(id);
    this.forget(id);
    if (task && !ENDED.has(task.state)) await this.client.killTask(this.appId, id, true);
  }

  /** Graceful: drains every Drillbit. Otherwise: scales the app to 0 (Marathon sends SIGTERM). */
  async stop(options: { graceful?: boolean } = {}): Promise<void> {
    if (options.graceful) {
      const ids = (await this.list()).filter((bit) => bit.state !== 'FAILED').map((bit) => bit.id);
      await Promise.all(ids.map((id) => this.drain(id)));
    } else if (await this.client.app(this.appId)) {
      await this.client.deploy(this.appId, async () => ({ method: 'PUT', path: `/v2/apps${this.appId}`, body: { instances: 0 } }));
      this.log(`scaled Marathon app ${this.appId} to 0`);
    }
    this.bits.clear();
    this.started = false;
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  private assertStarted(): void {
    if (!this.started) throw new Error('MarathonScheduler.start() has not run');
  }

  private async task(id: string): Promise<MarathonTask | null> {
    const app = await this.client.app(this.appId);
    return app?.tasks?.find((task) => task.id === id) ?? null;
  }

  // Tasks Marathon counts in `instances` that serve no queries: draining here, or failed.
  // Retired ones are killed with scale=true already: `instances` no longer counts them.
  private notServing(id: string): boolean {
    const bit = this.bits.get(id);
    return !this.retired.has(id) && bit !== undefined && (bit.draining || bit.failure !== undefined);
  }

  private remember(tasks: MarathonTask[]): Bit[] {
    return tasks
      .filter((task) => !this.retired.has(task.id))
      .map((task) => {
        let bit = this.bits.get(task.id);
        if (!bit) {
          bit = { id: task.id, host: task.host, ports: task.ports ?? [], startedAt: Date.parse(task.startedAt ?? task.stagedAt ?? '') || Date.now(), draining: false };
          this.bits.set(task.id, bit);
        }
        // Ports may be assigned after staging.
        if (task.ports?.length) bit.ports = task.ports;
        return bit;
      });
  }

  private forget(id: string): void {
    this.bits.delete(id);
    this.retired.add(id);
  }

  private observe(bit: Bit, task: MarathonTask | undefined, view: ClusterDrillbit[] | null, lastFailure: TaskFailure | undefined): DrillbitState | 'GONE' {
    if (bit.failure) return 'FAILED';
    if (!task) {
      if (bit.draining) return 'GONE';
      return this.fail(bit, `task ${bit.id} ended${failureOf(bit.id, lastFailure) ?? ' (Marathon no longer lists it)'}`);
    }
    if (bit.draining) return 'DRAINING';
    if (ENDED.has(task.state)) return this.fail(bit, `task ${bit.id} is ${task.state}${failureOf(bit.id, lastFailure) ?? ''}`);
    if (task.state === 'TASK_KILLING') return this.fail(bit, `Marathon is killing task ${bit.id}${unhealthy(task) ?? ''}`);
    const since = Date.now() - bit.startedAt;
    if (LAUNCHING.has(task.state)) {
      if (since <= this.startTimeoutMs) return 'STARTING';
      const fetched = this.settings.fetch.map((artifact) => artifact.uri).join(', ');
      return this.fail(
        bit,
        `task ${bit.id} has been ${task.state} on ${task.host} for ${Math.round(since / 1000)} s: Mesos could not start it` +
          `${fetched ? ` (check that the agent can fetch ${fetched})` : ''}${failureOf(bit.id, lastFailure) ?? ''}`,
      );
    }
    const entry = view?.find((d) => d.address === bit.host && Number(d.userPort) === bit.ports[0]);
    if (entry?.state === 'ONLINE') return 'ONLINE';
    if (entry && entry.state !== 'STARTUP') return 'DRAINING';
    const sick = unhealthy(task);
    if (sick) return this.fail(bit, `task ${bit.id}${sick}`);
    if (since > this.startTimeoutMs) return this.fail(bit, `task ${bit.id} did not come ONLINE in Drill within ${this.startTimeoutMs} ms`);
    return 'STARTING';
  }

  private fail(bit: Bit, why: string): 'FAILED' {
    bit.failure = why;
    this.log(why);
    return 'FAILED';
  }

  // Gone from Drill's registry (its queries are done), or its task is over.
  private async leftDrill(bit: Bit): Promise<boolean> {
    const app = await this.client.app(this.appId);
    const task = app?.tasks?.find((t) => t.id === bit.id);
    if (!task || ENDED.has(task.state)) return true;
    const view = await clusterView((app?.tasks ?? []).filter((t) => t.state === 'TASK_RUNNING'));
    return view === null || !view.some((d) => d.address === bit.host && Number(d.userPort) === bit.ports[0]);
  }

  private async waitUntil(done: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await done()) return true;
      await sleep(1_000);
    }
    return done();
  }
}

/** Drill's own view of the cluster, from the first running task that answers (oldest first). */
async function clusterView(tasks: MarathonTask[]): Promise<ClusterDrillbit[] | null> {
  const candidates = [...tasks].sort((a, b) => (a.startedAt ?? '').localeCompare(b.startedAt ?? ''));
  for (const task of candidates) {
    const http = task.ports?.[HTTP_PORT_INDEX];
    if (http === undefined) continue;
    try {
      return (await new DrillClient(`http://${task.host}:${http}`, 2_000).cluster()).drillbits;
    } catch {
      /* not serving HTTP yet; ask the next one */
    }
  }
  return null;
}

function failureOf(taskId: string, failure: TaskFailure | undefined): string | undefined {
  return failure?.taskId === taskId ? `: ${failure.state} ${failure.message}` : undefined;
}

// A task that was healthy and now fails its health checks (Marathon will kill it).
function unhealthy(task: MarathonTask): string | undefined {
  const failing = task.healthCheckResults?.find((result) => !result.alive && result.firstSuccess && result.consecutiveFailures > 0);
  return failing ? ` fails its health check (${failing.consecutiveFailures} in a row: ${failing.lastFailureCause ?? 'no answer'})` : undefined;
}
