// The Marathon scheduler: Drillbits as the tasks of one Marathon app. Marathon owns
// the tasks (placement, restarts); this class only raises `instances` (launch), kills
// the tasks the pool controller stops (with scale=true, so Marathon does not replace
// them), and reads state from Marathon (tasks, failures) merged with Drill's view by the
// shared DrillObserver. Start timeouts and retiring are the controller's.
// Everything it knows can be read back from Marathon, so a restarted gateway adopts
// the app and its tasks as they are.
import type { Config } from '../../config/load.js';
import { DrillObserver, type Member } from '../../drill/observer.js';
import { DromedarError } from '../../util/errors.js';
import type { Drillbit, Scheduler } from '../scheduler.js';
import { drillbitsApp, SPEC_LABEL, type MarathonApp, type MarathonSettings } from './app-definition.js';
import { MarathonClient, type AppInfo, type MarathonTask, type TaskFailure } from './client.js';
import { MarathonEvents } from './events.js';
import { placement, queueEntry, type QueueEntry } from './queue.js';

/** How long a read of the app serves list(): long while the event stream says nothing changed (polling: pollIntervalMs). */
export const VIEW_TTL = { events: 60_000, pollingBusy: 3_000 };
// Two reads of the app at least this far apart, however many events arrive.
const MIN_READ_GAP_MS = 250;

export interface MarathonSchedulerOptions {
  log?: (line: string) => void;
  /** Use Marathon's event stream (default true); without it the app is polled. */
  events?: boolean;
}

interface View {
  app: AppInfo | null;
  queue: QueueEntry | null;
  at: number;
}

type MarathonConfig = Pick<Config, 'dataDir' | 'storage' | 'scheduler' | 'pool'>;

/** A task this gateway has seen, kept after Marathon forgets it so its failure stays visible. */
interface Bit {
  id: string;
  host: string;
  ports: number[];
  startedAt: number;
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
  private readonly drill = new DrillObserver();
  private readonly bits = new Map<string, Bit>();
  /** Tasks killed with scale=true here: Marathon may list them a little longer while they die. */
  private readonly retired = new Set<string>();
  private started = false;
  private readonly events: MarathonEvents | null;
  private view: View | null = null;
  private reading: Promise<View> | null = null;
  private dirty = false;

  constructor(
    private readonly config: MarathonConfig,
    private readonly options: MarathonSchedulerOptions = {},
  ) {
    this.settings = config.scheduler.marathon;
    this.definition = drillbitsApp(config);
    this.client = new MarathonClient(this.settings, options.log);
    this.events = options.events === false ? null : new MarathonEvents(this.client.endpoints, { appId: this.settings.appId, onChange: () => (this.dirty = true), log: (line) => this.log(line) });
  }

  /** Why instances of the app wait unplaced, from the last read of GET /v2/queue; null when none waits. */
  placement(): string | null {
    const app = this.view?.app;
    if (!app) return null;
    const placed = (app.tasks ?? []).length;
    return placement(this.view!.queue, placed, app.instances, this.definition);
  }

  get appId(): string {
    return this.settings.appId;
  }

  /** Reads the app if there is one and adopts its tasks; creates nothing (scaleTo does). */
  async start(): Promise<void> {
    if (this.started) return;
    await this.client.endpoints.discoverLeader();
    const app = (await this.read()).app;
    if (app) {
      this.remember(app.tasks ?? []);
      this.log(`adopted Marathon app ${this.appId} at ${this.client.where}: ${app.instances} instances, ${app.tasks?.length ?? 0} tasks`);
      if (app.labels?.[SPEC_LABEL] !== this.definition.labels[SPEC_LABEL]) {
        // Updating it would restart every Drillbit (and their queries): an operator's call.
        this.log(`Marathon app ${this.appId} was defined by another configuration; running it as it is (redeploy it to apply the current one)`);
      }
    }
    this.events?.start();
    this.started = true;
  }

  async list(): Promise<Drillbit[]> {
    const { app } = await this.current();
    const tasks = app?.tasks ?? [];
    // Retired tasks matter only while Marathon still lists them.
    for (const id of this.retired) if (!tasks.some((task) => task.id === id)) this.retired.delete(id);
    this.remember(tasks);
    const members: Member[] = [];
    for (const bit of [...this.bits.values()]) {
      const member = this.member(bit, tasks.find((task) => task.id === bit.id), app?.lastTaskFailure);
      const [userPort = 0, controlPort = 0, dataPort = 0, httpPort = 0] = bit.ports;
      members.push({ id: bit.id, host: bit.host, userPort, controlPort, dataPort, httpPort, startedAt: bit.startedAt, ...member });
    }
    return this.drill.observe(members);
  }

  /** Raises `instances` by `count` (creating the app with `count` instances when there is none). */
  async launch(count: number): Promise<void> {
    this.assertStarted();
    if (count <= 0) return;
    const app = await this.client.app(this.appId);
    if (!app) {
      if (await this.client.create(drillbitsApp(this.config, count))) {
        this.log(`created Marathon app ${this.appId} with ${count} instances`);
        this.dirty = true;
        return;
      }
    }
    // Recomputed on every attempt: stops may lower `instances` while a deployment holds the app.
    await this.client.deploy(this.appId, async () => {
      const current = await this.client.app(this.appId);
      if (!current) throw new DromedarError('marathon_error', `Marathon app ${this.appId} disappeared while scaling it`, 502);
      const wanted = current.instances + count;
      this.log(`scaling Marathon app ${this.appId} from ${current.instances} to ${wanted} instances`);
      return { method: 'PUT', path: `/v2/apps${this.appId}`, body: { instances: wanted } };
    });
    this.dirty = true;
  }

  /**
   * With an id: kills its task with scale=true (Marathon does not replace it; SIGTERM runs
   * Drill's shutdown) and forgets it. A task Marathon is killing itself (a health check, a
   * rolling restart) or that has ended is only forgotten: lowering `instances` for it would
   * take an instance from Marathon's replacement, fighting the deployment.
   * Without an id: the gateway is going away, and the Drillbits app stays as it is for the
   * next gateway to adopt (scaling to 0 is the idle timeout's job, or `scaleToZero`).
   */
  async stop(id?: string): Promise<void> {
    if (id !== undefined) {
      const task = await this.task(id);
      this.forget(id);
      if (task && !ENDED.has(task.state) && task.state !== 'TASK_KILLING' && !(await this.client.killTask(this.appId, id, true))) {
        this.log(`${id} had ended before its kill; Marathon may have started a replacement`);
      }
      this.dirty = true;
      return;
    }
    await this.events?.stop();
    const app = this.view?.app;
    if (app) this.log(`leaving Marathon app ${this.appId} (${app.instances} instances) to the next gateway`);
    this.bits.clear();
    this.view = null;
    this.started = false;
  }

  /** Explicitly scales the Drillbits app to 0 (Marathon sends SIGTERM: Drill finishes its queries). */
  async scaleToZero(): Promise<void> {
    if (await this.client.app(this.appId)) {
      await this.client.deploy(this.appId, async () => ({ method: 'PUT', path: `/v2/apps${this.appId}`, body: { instances: 0 } }));
      this.log(`scaled Marathon app ${this.appId} to 0`);
    }
    this.dirty = true;
  }

  /** The app and its queue entry, from the cache while it is fresh. */
  private async current(): Promise<View> {
    const view = this.view;
    if (view && !this.dirty && Date.now() - view.at < this.ttl(view)) return view;
    if (view && Date.now() - view.at < MIN_READ_GAP_MS) return view;
    return this.read();
  }

  private ttl(view: View): number {
    if (this.events?.connected) return VIEW_TTL.events;
    const app = view.app;
    const busy = app !== null && ((app.deployments?.length ?? 0) > 0 || (app.tasks ?? []).length !== app.instances || (app.tasks ?? []).some((t) => t.state !== 'TASK_RUNNING'));
    return busy ? VIEW_TTL.pollingBusy : this.settings.pollIntervalMs;
  }

  // One read at a time; the queue only while instances wait unplaced.
  private read(): Promise<View> {
    this.reading ??= (async () => {
      this.dirty = false;
      const app = await this.client.app(this.appId);
      let queue: QueueEntry | null = null;
      if (app && (app.tasks ?? []).length < app.instances) queue = queueEntry((await this.client.call('GET', '/v2/queue')).body, this.appId);
      this.view = { app, queue, at: Date.now() };
      return this.view;
    })().finally(() => (this.reading = null));
    return this.reading;
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  private assertStarted(): void {
    if (!this.started) throw new Error('MarathonScheduler.start() has not run');
  }

  private async task(id: string): Promise<MarathonTask | null> {
    const { app } = await this.read();
    return app?.tasks?.find((task) => task.id === id) ?? null;
  }

  private remember(tasks: MarathonTask[]): Bit[] {
    return tasks
      .filter((task) => !this.retired.has(task.id))
      .map((task) => {
        let bit = this.bits.get(task.id);
        if (!bit) {
          bit = { id: task.id, host: task.host, ports: task.ports ?? [], startedAt: Date.parse(task.startedAt ?? task.stagedAt ?? '') || Date.now() };
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

  // The task's side only; Drill's view is the observer's.
  private member(bit: Bit, task: MarathonTask | undefined, lastFailure: TaskFailure | undefined): Pick<Member, 'status' | 'detail' | 'failure'> {
    if (bit.failure) return { status: 'ended', failure: bit.failure };
    if (!task) return this.fail(bit, `task ${bit.id} ended${failureOf(bit.id, lastFailure) ?? ' (Marathon no longer lists it)'}`);
    if (ENDED.has(task.state)) return this.fail(bit, `task ${bit.id} is ${task.state}${failureOf(bit.id, lastFailure) ?? ''}`);
    if (task.state === 'TASK_KILLING') return this.fail(bit, `Marathon is killing task ${bit.id}${unhealthy(task) ?? ''}`);
    if (LAUNCHING.has(task.state)) {
      const fetched = this.settings.fetch.map((artifact) => artifact.uri).join(', ');
      return { status: 'launching', detail: `task ${bit.id} is ${task.state} on ${task.host}${fetched ? ` (check that the agent can fetch ${fetched})` : ''}${failureOf(bit.id, lastFailure) ?? ''}` };
    }
    const sick = unhealthy(task);
    if (sick) return this.fail(bit, `task ${bit.id}${sick}`);
    return { status: 'running' };
  }

  private fail(bit: Bit, why: string): Pick<Member, 'status' | 'failure'> {
    if (bit.failure === undefined) this.log(why);
    bit.failure = why;
    return { status: 'ended', failure: why };
  }
}

function failureOf(taskId: string, failure: TaskFailure | undefined): string | undefined {
  return failure?.taskId === taskId ? `: ${failure.state} ${failure.message}` : undefined;
}

// A task that was healthy and now fails its health checks (Marathon will kill it).
function unhealthy(task: MarathonTask): string | undefined {
  const failing = task.healthCheckResults?.find((result) => !result.alive && result.firstSuccess && result.consecutiveFailures > 0);
  return failing ? ` fails its health check (${failing.consecutiveFailures} in a row: ${failing.lastFailureCause ?? 'no answer'})` : undefined;
}
