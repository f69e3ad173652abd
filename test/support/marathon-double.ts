// A TEST DOUBLE of Marathon 1.10's REST API v2, with a small "Mesos" behind it. It is
// NOT Marathon: it follows Marathon's documented semantics (docs/docs/rest-api and its
// RAML, health-checks.md, deployments.md, unreachable-strategy.md, event-bus.md,
// high-availability.md; the Scala source where those are silent) closely enough to test
// Dromedar's Marathon scheduler, and a client nobody here wrote (marathon-python),
// against real Drillbits on this machine.
//
// What it models, as Marathon and Mesos would:
// - agents with finite cpus/mem/disk (default: one, unlimited) on loopback addresses
//   (127.0.0.1, 127.0.0.2 ...) so `hostname UNIQUE` means something; constraints
//   (UNIQUE, CLUSTER, MAX_PER, LIKE, UNLIKE, IS on hostname or an attribute). An
//   instance no agent can take waits unplaced, listed in GET /v2/queue with
//   processedOffersSummary's reject reasons (InsufficientMemory, UnfulfilledConstraint ...).
// - apps: POST /v2/apps, GET /v2/apps[?id=&embed=], GET/PUT (partial update; creates when
//   missing)/DELETE /v2/apps/{id}, POST /v2/apps/{id}/restart, GET/DELETE
//   /v2/apps/{id}/tasks[?host=&scale=], DELETE /v2/apps/{id}/tasks/{taskId}[?scale=]
//   (a task already gone with scale=true: 200, no-op), GET /v2/tasks, POST
//   /v2/tasks/delete; ids with or without leading (or doubled) slashes; query booleans
//   read as Jersey reads them (`True`, `TRUE`); 400/422 with `details`; 401/403.
// - deployments: one per change, until its goal is reached; a change to a locked app
//   gets 409 unless ?force=true; DELETE /v2/deployments/{id} rolls back (a new
//   deployment), with ?force=true just stops (202). A config change rolls by
//   upgradeStrategy (minimumHealthCapacity, maximumOverCapacity; default 1/1: start a
//   new task, kill an old one when the new one is healthy); killSelection YOUNGEST_FIRST.
// - tasks really run their `cmd` with `sh -c` in a sandbox folder and process group,
//   with PORT0..n, PORTS, PORT_<NAME>, HOST (the agent), MESOS_SANDBOX, MESOS_TASK_ID,
//   MARATHON_APP_*; TASK_STAGING -> TASK_RUNNING -> TASK_FINISHED/FAILED/KILLED. Kill =
//   SIGTERM to the group, SIGKILL after taskKillGracePeriodSeconds. A task that ends is
//   replaced while `instances` counts it, after Marathon's launch backoff.
// - health checks (HTTP, HTTPS, TCP, COMMAND, MESOS_*) are run; a task failing
//   maxConsecutiveFailures after its grace period is killed and replaced.
// - unreachable agents (partition()): their tasks go TASK_UNREACHABLE, are replaced
//   after unreachableStrategy.inactiveAfterSeconds and expunged after expungeAfterSeconds.
// - several Marathon instances with one leader: /v2/leader, /v2/info (marathon_config,
//   zookeeper_config); a non-leader proxies to the leader, or (nonLeader option) answers
//   Jetty's 502 HTML page or a 307 redirect; during an election every instance answers
//   503 "Could not determine the current leader".
// - GET /v2/events (SSE: event_stream_attached, status_update_event, deployment_info,
//   deployment_success, deployment_failed, health_status_changed_event,
//   failed_health_check_event, unhealthy_instance_kill_event, api_post_event), with
//   ?event_type= filters.
// Where it deviates: all agents are this machine, so host ports are free ports picked
// here; `fetch` copies file:// and plain paths, downloads from loopback only, extracts
// tar archives only; no pods, groups, versions, readiness checks or containers (a
// `container` is accepted and its cmd run as is).
// Test hooks: lockApp(), holdStaging(), partition(), failover(), dropEventStreams(),
// refuseEvents(); `requests` records what was asked and answered (per instance).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { openSync, closeSync } from 'node:fs';
import { copyFile, mkdir, writeFile, chmod } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { freePort } from '../../src/util/net.js';
import { isAlive, run, signal } from '../../src/util/process.js';

type Json = Record<string, any>;
type Reply = [number, unknown, Record<string, string>?];

export interface AgentSpec {
  /** A loopback address (127.0.0.x): where its tasks bind and what $HOST says. */
  hostname: string;
  cpus?: number;
  mem?: number;
  disk?: number;
  attributes?: Record<string, string>;
}

export interface MarathonDoubleOptions {
  /** Sandboxes of the tasks go below this folder. */
  workDir: string;
  /** Without it, every request is allowed (Marathon without an auth plugin). */
  auth?: { users?: Record<string, string>; tokens?: string[]; readOnly?: string[] };
  /** How long a task stays TASK_STAGING before its command starts. */
  stagingMs?: number;
  /** The Mesos agents (default: one on 127.0.0.1 with unlimited resources). */
  agents?: AgentSpec[];
  /** Marathon instances behind one ZooKeeper (default 1); instance 0 leads first. */
  instances?: number;
  /** What a non-leader does with a request: proxy it (Marathon's default), 502 HTML, or redirect. */
  nonLeader?: 'proxy' | 'html502' | 'redirect';
  log?: (line: string) => void;
}

interface Health {
  alive: boolean;
  consecutiveFailures: number;
  firstSuccess: string | null;
  lastSuccess: string | null;
  lastFailure: string | null;
  lastFailureCause: string | null;
}

interface Task {
  id: string;
  appId: string;
  version: string;
  agent: AgentState;
  ports: number[];
  state: string;
  stagedAt: string;
  startedAt: string | null;
  sandbox: string;
  env: NodeJS.ProcessEnv;
  child: ChildProcess | null;
  health: Health[];
  killing: boolean;
  unreachableSince: number | null;
  timers: NodeJS.Timeout[];
}

interface AgentState extends Required<Omit<AgentSpec, 'attributes'>> {
  id: string;
  attributes: Record<string, string>;
  partitioned: boolean;
}

interface QueueState {
  since: string;
  processed: number;
  unused: number;
  lastUnusedOfferAt: string | null;
  lastUsedOfferAt: string | null;
  reasons: Map<string, number>;
  /** Each agent's answer to its last offer: the reasons it was declined ([] when used). */
  last: Map<string, string[]>;
}

interface App {
  def: Json;
  version: string;
  lastConfigChangeAt: string;
  tasks: Map<string, Task>;
  lastTaskFailure: Json | null;
  launchFailures: number;
  nextLaunchAt: number;
  stopping: boolean;
  queue: QueueState | null;
}

interface Deployment {
  id: string;
  version: string;
  appId: string;
  action: string;
  /** The goal: when it holds (and `until` has passed), the deployment is over. */
  done: () => boolean;
  until: number;
  /** What the app was before (DELETE /v2/deployments/{id} restores it). */
  previous: { def: Json; lastConfigChangeAt: string } | null;
}

interface Instance {
  index: number;
  port: number;
  server: Server | null;
}

interface EventClient {
  res: ServerResponse;
  types: Set<string> | null;
}

const LOCKED = "App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.";
const OPERATORS = ['UNIQUE', 'CLUSTER', 'GROUP_BY', 'LIKE', 'UNLIKE', 'MAX_PER', 'IS'];
const PROTOCOLS = ['HTTP', 'HTTPS', 'TCP', 'COMMAND', 'MESOS_HTTP', 'MESOS_HTTPS', 'MESOS_TCP'];
const ID_SEGMENT = /^(([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])$/;
const BIND = '127.0.0.1';
// Marathon's reject reasons (mesosphere.mesos.NoOfferMatchReason), in its order.
const REASONS = ['UnfulfilledRole', 'UnfulfilledConstraint', 'NoCorrespondingReservationFound', 'AgentMaintenance', 'InsufficientCpus', 'InsufficientMemory', 'InsufficientDisk', 'InsufficientGpus', 'InsufficientPorts', 'DeclinedScarceResources'];
const insecure = new Agent({ connect: { rejectUnauthorized: false } });

export class MarathonDouble {
  readonly apps = new Map<string, App>();
  readonly deployments: Deployment[] = [];
  /** Every request answered, for tests that check what the client did. */
  readonly requests: { instance: number; method: string; path: string; status: number; at: number }[] = [];
  readonly agents: AgentState[];
  private readonly instances: Instance[];
  /** The leading instance, null during an election. */
  private leader: number | null = 0;
  private loop: NodeJS.Timeout | null = null;
  private readonly takenPorts = new Set<string>();
  private readonly heldStaging = new Set<string>();
  private readonly eventClients = new Set<EventClient>();
  private eventsRefused = false;
  private nextServicePort = 10_000;
  private readonly exitGuard = () => this.killAllNow();

  constructor(private readonly options: MarathonDoubleOptions) {
    const specs = options.agents ?? [{ hostname: BIND }];
    this.agents = specs.map((a, i) => ({
      id: `double-agent-S${i}`,
      hostname: a.hostname,
      cpus: a.cpus ?? Infinity,
      mem: a.mem ?? Infinity,
      disk: a.disk ?? Infinity,
      attributes: a.attributes ?? {},
      partitioned: false,
    }));
    this.instances = Array.from({ length: options.instances ?? 1 }, (_, index) => ({ index, port: 0, server: null }));
  }

  /** The first instance's URL (the leader at start). */
  get url(): string {
    return this.urlOf(0);
  }

  /** Every instance's URL, in order. */
  get urls(): string[] {
    return this.instances.map((i) => this.urlOf(i.index));
  }

  urlOf(index: number): string {
    return `http://${BIND}:${this.instances[index]!.port}`;
  }

  get leaderIndex(): number | null {
    return this.leader;
  }

  async start(): Promise<string> {
    await mkdir(this.options.workDir, { recursive: true });
    for (const instance of this.instances) await this.listen(instance);
    this.loop = setInterval(() => this.reconcile(), 200);
    process.on('exit', this.exitGuard);
    return this.url;
  }

  /** Stops serving and kills every task's process group (SIGTERM, then SIGKILL). */
  async close(): Promise<void> {
    if (this.loop) clearInterval(this.loop);
    this.loop = null;
    for (const client of this.eventClients) client.res.destroy();
    this.eventClients.clear();
    for (const instance of this.instances) await this.unlisten(instance);
    const tasks = [...this.apps.values()].flatMap((app) => [...app.tasks.values()]);
    for (const task of tasks) this.kill(task, 5);
    const deadline = Date.now() + 15_000;
    while (tasks.some((t) => t.child && isAlive(t.child.pid!)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    this.killAllNow();
    process.off('exit', this.exitGuard);
  }

  // ---- test hooks -----------------------------------------------------------------------

  /** A deployment that holds the app for `ms` (as another operator's slow one would). */
  lockApp(appId: string, ms: number): string {
    const id = randomUUID();
    this.deployments.push({ id, version: now(), appId: normalize(appId), action: 'RestartApplication', done: () => true, until: Date.now() + ms, previous: null });
    return id;
  }

  /** New tasks of the app (existing or not yet) stay TASK_STAGING: no agent starts them. */
  holdStaging(appId: string, hold = true): void {
    if (hold) this.heldStaging.add(normalize(appId));
    else this.heldStaging.delete(normalize(appId));
  }

  /** Cuts an agent off from the master (its tasks go TASK_UNREACHABLE), or heals it. */
  partition(hostname: string, cut = true): void {
    const agent = this.agents.find((a) => a.hostname === hostname);
    if (!agent) throw new Error(`no agent ${hostname}`);
    agent.partitioned = cut;
    for (const app of this.apps.values()) {
      for (const task of app.tasks.values()) {
        if (task.agent !== agent || task.killing) continue;
        if (cut && task.state === 'TASK_RUNNING') {
          task.state = 'TASK_UNREACHABLE';
          task.unreachableSince = Date.now();
          this.statusEvent(app, task, 'agent unreachable');
        } else if (!cut && task.state === 'TASK_UNREACHABLE') {
          task.state = 'TASK_RUNNING';
          task.unreachableSince = null;
          this.statusEvent(app, task, 'agent reregistered');
        }
      }
    }
  }

  /**
   * Leader failover: the leader loses leadership (and its process when `stopOld`), no
   * instance leads for `gapMs` (all answer 503), then `to` leads.
   */
  async failover(to: number, options: { gapMs?: number; stopOld?: boolean } = {}): Promise<void> {
    const old = this.leader;
    this.leader = null;
    for (const client of this.eventClients) client.res.destroy();
    if (options.stopOld && old !== null) await this.unlisten(this.instances[old]!);
    await new Promise((r) => setTimeout(r, options.gapMs ?? 0));
    this.leader = to;
    this.options.log?.(`double: instance ${to} leads`);
  }

  /** Starts an instance that failover(stopOld) stopped, on its old port. */
  async restartInstance(index: number): Promise<void> {
    await this.listen(this.instances[index]!);
  }

  /** Closes every open event stream (as a proxy timing out would). */
  dropEventStreams(): void {
    for (const client of this.eventClients) client.res.destroy();
    this.eventClients.clear();
  }

  /** While refused, /v2/events connections are reset (a proxy that does not pass SSE). */
  refuseEvents(refuse = true): void {
    this.eventsRefused = refuse;
    if (refuse) this.dropEventStreams();
  }

  get eventStreams(): number {
    return this.eventClients.size;
  }

  /** Pid of the task's `sh -c` (the leader of its process group). */
  taskPid(taskId: string): number | undefined {
    return this.findTask(taskId)?.child?.pid;
  }

  /** The task's sandbox folder ($MESOS_SANDBOX). */
  sandbox(taskId: string): string | undefined {
    return this.findTask(taskId)?.sandbox;
  }

  /** Pids of every live task process group leader. */
  pids(): number[] {
    return this.allTasks().flatMap((t) => (t.child?.pid && isAlive(t.child.pid) ? [t.child.pid] : []));
  }

  private findTask(taskId: string): Task | undefined {
    for (const app of this.apps.values()) {
      const task = app.tasks.get(taskId);
      if (task) return task;
    }
    return undefined;
  }

  private allTasks(): Task[] {
    return [...this.apps.values()].flatMap((app) => [...app.tasks.values()]);
  }

  // ---- HTTP ---------------------------------------------------------------------------

  private async listen(instance: Instance): Promise<void> {
    const server = createServer((req, res) => void this.handle(instance.index, req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(instance.port, BIND, resolve);
    });
    instance.port = (server.address() as { port: number }).port;
    instance.server = server;
  }

  private async unlisten(instance: Instance): Promise<void> {
    const server = instance.server;
    if (!server) return;
    instance.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  private async handle(index: number, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.urlOf(index));
    const method = req.method ?? 'GET';
    const record = (status: number) => this.requests.push({ instance: index, method, path: url.pathname + url.search, status, at: Date.now() });
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      record(status);
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    try {
      if (url.pathname === '/ping' && method === 'GET') {
        record(200);
        res.writeHead(200, { 'content-type': 'text/plain' });
        return void res.end('pong');
      }
      // LeaderProxyFilter: only the leader answers; the others forward or refuse.
      if (this.leader === null) return reply(503, { message: 'Could not determine the current leader' });
      if (index !== this.leader) {
        const mode = this.options.nonLeader ?? 'proxy';
        if (mode === 'redirect') return reply(307, undefined, { location: this.urlOf(this.leader) + url.pathname + url.search });
        if (mode === 'html502') {
          record(502);
          res.writeHead(502, { 'content-type': 'text/html;charset=iso-8859-1' });
          return void res.end(jettyError(502, 'Bad Gateway', url.pathname));
        }
      }
      const denied = this.authorize(req, method);
      if (denied) return reply(denied.status, { message: denied.message });
      if (url.pathname.replace(/\/+$/, '') === '/v2/events' && method === 'GET') {
        record(200);
        return this.subscribe(req, res, url);
      }
      const text = await readBody(req);
      let body: unknown = undefined;
      if (text) {
        try {
          body = JSON.parse(text);
        } catch {
          return reply(400, { message: 'Invalid JSON', details: [{ path: '/', errors: ['error.expected.jsobject'] }] });
        }
      }
      const [status, out, headers] = this.route(method, url, body, req.socket.remoteAddress ?? '');
      reply(status, out, headers);
    } catch (err) {
      reply(500, { message: String(err) });
    }
  }

  private authorize(req: IncomingMessage, method: string): { status: number; message: string } | null {
    const auth = this.options.auth;
    if (!auth) return null;
    const header = req.headers.authorization ?? '';
    let who: string | null = null;
    if (header.startsWith('Basic ')) {
      const [user, ...rest] = Buffer.from(header.slice(6), 'base64').toString().split(':');
      if (user && auth.users?.[user] !== undefined && auth.users[user] === rest.join(':')) who = user;
    } else if (header.startsWith('token=') && auth.tokens?.includes(header.slice(6))) {
      who = header.slice(6);
    }
    if (who === null) return { status: 401, message: 'Invalid username or password.' };
    if (method !== 'GET' && auth.readOnly?.includes(who)) return { status: 403, message: 'Not Authorized to perform this action!' };
    return null;
  }

  private route(method: string, url: URL, body: unknown, clientIp: string): Reply {
    // Marathon's PathId ignores empty segments: /v2/apps//app is /app.
    const path = url.pathname.replace(/\/{2,}/g, '/').replace(/\/+$/, '');
    const force = flag(url, 'force');
    const scale = flag(url, 'scale');
    if (path === '/v2/info' && method === 'GET') return [200, this.info()];
    if (path === '/v2/leader') {
      if (method === 'GET') return [200, { leader: `${BIND}:${this.instances[this.leader!]!.port}` }];
      if (method === 'DELETE') {
        const next = (this.leader! + 1) % this.instances.length;
        setTimeout(() => void this.failover(next, { gapMs: 500 }), 50).unref();
        return [200, { message: 'Leadership abdicated' }];
      }
    }
    if (path === '/v2/deployments' && method === 'GET') return [200, this.deployments.map((d) => this.deploymentJson(d))];
    const deployment = /^\/v2\/deployments\/([^/]+)$/.exec(path);
    if (deployment && method === 'DELETE') return this.cancelDeployment(decodeURIComponent(deployment[1]!), force);
    if (path === '/v2/queue' && method === 'GET') return [200, { queue: this.queueJson(url.searchParams.getAll('embed').includes('lastUnusedOffers')) }];
    const delay = /^\/v2\/queue(\/.+)\/delay$/.exec(path);
    if (delay && method === 'DELETE') {
      const app = this.apps.get(normalize(delay[1]!));
      if (!app) return notFound(normalize(delay[1]!));
      app.launchFailures = 0;
      app.nextLaunchAt = 0;
      return [204, undefined];
    }
    if (path === '/v2/tasks' && method === 'GET') {
      const status = url.searchParams.getAll('status').map((s) => `TASK_${s.toUpperCase()}`);
      const tasks = [...this.apps.values()].flatMap((app) => [...app.tasks.values()].filter((t) => status.length === 0 || status.includes(t.state)).map((t) => this.taskJson(app, t)));
      return [200, { tasks }];
    }
    if (path === '/v2/tasks/delete' && method === 'POST') return this.killMany(((body as Json | undefined)?.ids as string[] | undefined) ?? [], scale, force);
    if (path === '/v2/apps') {
      if (method === 'GET') {
        const filter = url.searchParams.get('id');
        const apps = [...this.apps.values()].filter((app) => !filter || app.def.id.includes(filter));
        return [200, { apps: apps.map((app) => this.appJson(app, embeds(url, 'apps'))) }];
      }
      if (method === 'POST') return this.create(body, clientIp);
    }
    const task = /^\/v2\/apps(\/.+)\/tasks\/([^/]+)$/.exec(path);
    if (task && method === 'DELETE') return this.killTask(normalize(task[1]!), decodeURIComponent(task[2]!), scale, force);
    const tasks = /^\/v2\/apps(\/.+)\/tasks$/.exec(path);
    if (tasks) {
      const app = this.apps.get(normalize(tasks[1]!));
      if (!app) return notFound(normalize(tasks[1]!));
      if (method === 'GET') return [200, { tasks: [...app.tasks.values()].map((t) => this.taskJson(app, t)) }];
      if (method === 'DELETE') {
        const host = url.searchParams.get('host');
        const ids = [...app.tasks.values()].filter((t) => !host || t.agent.hostname === host).map((t) => t.id);
        return this.killMany(ids, scale, force);
      }
    }
    const restart = /^\/v2\/apps(\/.+)\/restart$/.exec(path);
    if (restart && method === 'POST') {
      const app = this.apps.get(normalize(restart[1]!));
      if (!app) return notFound(normalize(restart[1]!));
      const locked = this.locked(app.def.id, force);
      if (locked) return locked;
      const previous = { def: structuredClone(app.def), lastConfigChangeAt: app.lastConfigChangeAt };
      app.version = now();
      app.lastConfigChangeAt = app.version;
      const d = this.deploy(app, 'RestartApplication', () => this.converged(app), previous);
      return [200, { deploymentId: d.id, version: app.version }, { 'Marathon-Deployment-Id': d.id }];
    }
    const one = /^\/v2\/apps(\/.+)$/.exec(path);
    if (one) {
      const id = normalize(one[1]!);
      const app = this.apps.get(id);
      if (method === 'GET') return app ? [200, { app: this.appJson(app, embeds(url, 'app')) }] : notFound(id);
      if (method === 'PUT') return app ? this.update(app, body, force, clientIp) : this.create({ ...(body as Json), id }, clientIp, true);
      if (method === 'DELETE') return app ? this.destroy(app, force) : notFound(id);
    }
    return [404, { message: `The requested resource ${method} ${path} does not exist (test double)` }];
  }

  private info(): Json {
    const leader = this.leader === null ? null : `${BIND}:${this.instances[this.leader]!.port}`;
    return {
      name: 'marathon',
      version: '1.10.17 (test double)',
      buildref: 'test-double',
      elected: this.leader !== null,
      leader,
      frameworkId: 'double-framework-0001',
      marathon_config: {
        master: 'zk://127.0.0.1:2181/mesos',
        hostname: BIND,
        mesos_role: null,
        task_launch_timeout: 300_000,
        task_reservation_timeout: 20_000,
        local_port_min: 10_000,
        local_port_max: 20_000,
        leader_proxy_connection_timeout_ms: 5_000,
        leader_proxy_read_timeout_ms: 10_000,
        features: ['task_killing'],
        framework_name: 'marathon',
        checkpoint: true,
        failover_timeout: 604_800,
        ha: this.instances.length > 1,
        executor: '//cmd',
        reconciliation_initial_delay: 15_000,
        reconciliation_interval: 600_000,
        mesos_leader_ui_url: 'http://127.0.0.1:5050/',
      },
      zookeeper_config: { zk: 'zk://127.0.0.1:2181/marathon', zk_timeout: 10_000, zk_session_timeout: 10_000, zk_max_versions: 50 },
      event_subscriber: null,
      http_config: { http_port: this.instances[0]!.port, https_port: 8443 },
    };
  }

  // ---- events -----------------------------------------------------------------------------

  private subscribe(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (this.eventsRefused) return void res.destroy();
    const types = url.searchParams.getAll('event_type');
    const client: EventClient = { res, types: types.length ? new Set(types) : null };
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    this.eventClients.add(client);
    const gone = () => this.eventClients.delete(client);
    req.on('close', gone);
    res.on('close', gone);
    this.send(client, 'event_stream_attached', { remoteAddress: req.socket.remoteAddress ?? '' });
  }

  private emit(eventType: string, data: Json): void {
    for (const client of this.eventClients) this.send(client, eventType, data);
  }

  private send(client: EventClient, eventType: string, data: Json): void {
    if (client.types && !client.types.has(eventType)) return;
    client.res.write(`event: ${eventType}\ndata: ${JSON.stringify({ ...data, eventType, timestamp: now() })}\n\n`);
  }

  private statusEvent(app: App, task: Task, message: string): void {
    this.emit('status_update_event', {
      slaveId: task.agent.id,
      taskId: task.id,
      taskStatus: task.state,
      message,
      appId: app.def.id,
      host: task.agent.hostname,
      ipAddresses: [{ ipAddress: task.agent.hostname, protocol: 'IPv4' }],
      ports: task.ports,
      version: task.version,
    });
  }

  // ---- apps and deployments ------------------------------------------------------------

  private create(body: unknown, clientIp: string, viaPut = false): Reply {
    const invalid = validate(body);
    if (invalid) return invalid;
    const def = withDefaults(body as Json);
    if (this.apps.has(def.id)) return [409, { message: `An app with id [${def.id}] already exists.` }];
    this.assignServicePorts(def);
    const version = now();
    const app: App = { def, version, lastConfigChangeAt: version, tasks: new Map(), lastTaskFailure: null, launchFailures: 0, nextLaunchAt: 0, stopping: false, queue: null };
    this.apps.set(def.id, app);
    this.emit('api_post_event', { clientIp, uri: `/v2/apps${def.id}`, appDefinition: def });
    const deployment = this.deploy(app, 'StartApplication', () => this.converged(app), null);
    const headers = { 'Marathon-Deployment-Id': deployment.id, Location: `${this.url}/v2/apps${def.id}` };
    if (viaPut) return [201, { deploymentId: deployment.id, version }, headers];
    return [201, { ...this.appJson(app, new Set()), deployments: [{ id: deployment.id }] }, headers];
  }

  // PUT with Marathon's default partialUpdate=true: fields not sent keep their values.
  private update(app: App, body: unknown, force: boolean, clientIp: string): Reply {
    const locked = this.locked(app.def.id, force);
    if (locked) return locked;
    const merged = { ...app.def, ...(body as Json), id: app.def.id };
    const invalid = validate(merged);
    if (invalid) return invalid;
    const def = withDefaults(merged);
    this.assignServicePorts(def);
    const previous = { def: app.def, lastConfigChangeAt: app.lastConfigChangeAt };
    const { instances: _a, ...before } = app.def;
    const { instances: _b, ...after } = def;
    const restart = JSON.stringify(before) !== JSON.stringify(after);
    app.def = def;
    app.version = now();
    if (restart) {
      app.lastConfigChangeAt = app.version;
      app.launchFailures = 0;
    }
    this.emit('api_post_event', { clientIp, uri: `/v2/apps${def.id}`, appDefinition: def });
    const deployment = this.deploy(app, restart ? 'RestartApplication' : 'ScaleApplication', () => this.converged(app), previous);
    return [200, { deploymentId: deployment.id, version: app.version }, { 'Marathon-Deployment-Id': deployment.id }];
  }

  private destroy(app: App, force: boolean): Reply {
    const locked = this.locked(app.def.id, force);
    if (locked) return locked;
    app.stopping = true;
    for (const task of app.tasks.values()) this.kill(task);
    const deployment = this.deploy(
      app,
      'StopApplication',
      () => {
        if (app.tasks.size > 0) return false;
        this.apps.delete(app.def.id);
        this.emit('app_terminated_event', { appId: app.def.id });
        return true;
      },
      null,
    );
    return [200, { deploymentId: deployment.id, version: now() }, { 'Marathon-Deployment-Id': deployment.id }];
  }

  private killTask(appId: string, taskId: string, scale: boolean, force: boolean): Reply {
    const app = this.apps.get(appId);
    if (!app) return notFound(appId);
    const task = app.tasks.get(taskId);
    if (!task) {
      // TasksResource.killTasks with scale=true over no matching task: a no-op success.
      if (scale) return [200, { version: app.version, deploymentId: null }];
      return [404, { message: `Task '${taskId}' does not exist` }];
    }
    if (!scale) {
      this.kill(task);
      return [200, { task: this.taskJson(app, task) }];
    }
    return this.killMany([taskId], true, force);
  }

  /** Kills tasks (of any apps); with scale, lowers each app's instances through a deployment. */
  private killMany(ids: string[], scale: boolean, force: boolean): Reply {
    const byApp = new Map<App, Task[]>();
    for (const id of ids) {
      for (const app of this.apps.values()) {
        const task = app.tasks.get(id);
        if (task) byApp.set(app, [...(byApp.get(app) ?? []), task]);
      }
    }
    if (!scale) {
      const killed = [...byApp.entries()].flatMap(([app, tasks]) => tasks.map((t) => (this.kill(t), this.taskJson(app, t))));
      return [200, { tasks: killed }];
    }
    for (const app of byApp.keys()) {
      const locked = this.locked(app.def.id, force);
      if (locked) return locked;
    }
    let last: Deployment | null = null;
    let version = now();
    for (const [app, tasks] of byApp) {
      const previous = { def: structuredClone(app.def), lastConfigChangeAt: app.lastConfigChangeAt };
      app.def.instances = Math.max(0, app.def.instances - tasks.length);
      app.version = version = now();
      for (const t of tasks) this.kill(t);
      last = this.deploy(app, 'ScaleApplication', () => tasks.every((t) => !app.tasks.has(t.id)), previous);
    }
    return [200, { deploymentId: last?.id ?? null, version }, last ? { 'Marathon-Deployment-Id': last.id } : {}];
  }

  private cancelDeployment(id: string, force: boolean): Reply {
    const d = this.deployments.find((x) => x.id === id);
    if (!d) return [404, { message: `DeploymentPlan ${id} does not exist` }];
    this.deployments.splice(this.deployments.indexOf(d), 1);
    this.emit('deployment_failed', { id: d.id, plan: this.planJson(d) });
    if (force) return [202, undefined];
    const app = this.apps.get(d.appId);
    if (!app || !d.previous) return [200, { deploymentId: randomUUID(), version: now() }];
    // The rollback: a new deployment back to the app as it was.
    app.def = structuredClone(d.previous.def);
    app.lastConfigChangeAt = d.previous.lastConfigChangeAt;
    app.version = now();
    const rollback = this.deploy(app, 'RestartApplication', () => this.converged(app), null);
    return [200, { deploymentId: rollback.id, version: app.version }, { 'Marathon-Deployment-Id': rollback.id }];
  }

  // Marathon gives every port definition with port 0 a cluster-wide service port.
  private assignServicePorts(def: Json): void {
    for (const portDef of def.portDefinitions as Json[]) if (portDef.port === 0) portDef.port = this.nextServicePort++;
  }

  private locked(appId: string, force: boolean): [number, unknown] | null {
    const holding = this.deployments.filter((d) => d.appId === appId);
    if (holding.length === 0) return null;
    if (force) {
      // ?force=true cancels the deployments in the way (and leaves their state as it is).
      for (const d of holding) this.deployments.splice(this.deployments.indexOf(d), 1);
      return null;
    }
    return [409, { message: LOCKED, deployments: holding.map((d) => ({ id: d.id })) }];
  }

  private deploy(app: App, action: string, done: () => boolean, previous: Deployment['previous']): Deployment {
    const deployment: Deployment = { id: randomUUID(), version: app.version, appId: app.def.id, action, done, until: 0, previous };
    this.deployments.push(deployment);
    this.emit('deployment_info', { plan: this.planJson(deployment), currentStep: this.deploymentJson(deployment).steps[0] });
    return deployment;
  }

  // A scale or restart is over when exactly `instances` tasks of the current config run
  // (healthy, where the app has health checks) and no task is still being killed.
  private converged(app: App): boolean {
    const tasks = [...app.tasks.values()];
    if (tasks.some((t) => t.killing)) return false;
    const current = tasks.filter((t) => t.version === app.lastConfigChangeAt && t.state === 'TASK_RUNNING');
    const healthy = current.filter((t) => t.health.length === 0 || t.health.every((h) => h.alive));
    return tasks.length === app.def.instances && healthy.length === app.def.instances;
  }

  // ---- the master and agents: placing, launching, watching and killing tasks --------------

  private reconcile(): void {
    for (const app of [...this.apps.values()]) {
      if (app.stopping) continue;
      this.expireUnreachable(app);
      const live = [...app.tasks.values()].filter((t) => !t.killing && !this.inactive(app, t));
      const current = live.filter((t) => t.version === app.lastConfigChangeAt);
      const old = live.filter((t) => t.version !== app.lastConfigChangeAt);
      const n = app.def.instances;
      const strategy = app.def.upgradeStrategy as { minimumHealthCapacity: number; maximumOverCapacity: number };
      const healthy = (t: Task) => t.state === 'TASK_RUNNING' && t.health.every((h) => h.alive);
      if (old.length > 0) {
        // A rolling upgrade: old tasks go while enough healthy ones stay.
        const minHealthy = Math.ceil(n * strategy.minimumHealthCapacity);
        const newHealthy = current.filter(healthy).length;
        const maxTotal = Math.max(n, Math.floor(n * (1 + strategy.maximumOverCapacity)));
        let oldLeft = old.length;
        let oldHealthy = old.filter(healthy).length;
        for (const task of this.killOrder(app, old)) {
          const after = newHealthy + oldHealthy - (healthy(task) ? 1 : 0);
          if (after < minHealthy && current.length + oldLeft <= maxTotal) break;
          this.kill(task);
          oldLeft--;
          if (healthy(task)) oldHealthy--;
        }
        let total = current.length + oldLeft;
        for (let have = current.length; have < n && total < maxTotal; have++, total++) this.tryLaunch(app);
      } else {
        for (const extra of this.killOrder(app, current).slice(0, Math.max(0, current.length - n))) this.kill(extra);
        for (let have = current.length; have < n; have++) this.tryLaunch(app);
      }
      if (current.length >= n && app.queue) app.queue = null;
    }
    for (const d of [...this.deployments]) {
      if (Date.now() >= d.until && d.done()) {
        this.deployments.splice(this.deployments.indexOf(d), 1);
        this.emit('deployment_success', { id: d.id, plan: this.planJson(d) });
      }
    }
  }

  // killSelection: YOUNGEST_FIRST (Marathon's default) or OLDEST_FIRST.
  private killOrder(app: App, tasks: Task[]): Task[] {
    const sorted = [...tasks].sort((a, b) => b.stagedAt.localeCompare(a.stagedAt));
    return app.def.killSelection === 'OLDEST_FIRST' ? sorted.reverse() : sorted;
  }

  // An unreachable task stops counting after inactiveAfterSeconds (a replacement starts).
  private inactive(app: App, task: Task): boolean {
    return task.unreachableSince !== null && Date.now() - task.unreachableSince >= app.def.unreachableStrategy.inactiveAfterSeconds * 1000;
  }

  private expireUnreachable(app: App): void {
    for (const task of [...app.tasks.values()]) {
      if (task.unreachableSince === null || Date.now() - task.unreachableSince < app.def.unreachableStrategy.expungeAfterSeconds * 1000) continue;
      // Expunged: Marathon forgets it; the agent, when it comes back, is told to kill it.
      this.ended(app, task, 'TASK_GONE', 'expunged after unreachableStrategy.expungeAfterSeconds');
      if (task.child?.pid) signal(task.child.pid, 'SIGKILL');
    }
  }

  // One offer round: the first agent that takes the instance gets it, else the queue says why not.
  private tryLaunch(app: App): void {
    if (Date.now() < app.nextLaunchAt) return;
    const at = now();
    app.queue ??= { since: at, processed: 0, unused: 0, lastUnusedOfferAt: null, lastUsedOfferAt: null, reasons: new Map(), last: new Map() };
    const offering = this.agents.filter((a) => !a.partitioned);
    for (const agent of offering) {
      app.queue.processed++;
      const reasons = this.rejects(app, agent);
      app.queue.last.set(agent.id, reasons);
      if (reasons.length === 0) {
        app.queue.lastUsedOfferAt = at;
        void this.launch(app, agent);
        return;
      }
      app.queue.unused++;
      app.queue.lastUnusedOfferAt = at;
      for (const reason of reasons) app.queue.reasons.set(reason, (app.queue.reasons.get(reason) ?? 0) + 1);
    }
  }

  private rejects(app: App, agent: AgentState): string[] {
    const def = app.def;
    const used = { cpus: 0, mem: 0, disk: 0 };
    for (const task of this.allTasks()) {
      if (task.agent !== agent) continue;
      const owner = this.apps.get(task.appId)!.def;
      used.cpus += owner.cpus;
      used.mem += owner.mem;
      used.disk += owner.disk;
    }
    const out: string[] = [];
    if (!this.fits(app, agent)) out.push('UnfulfilledConstraint');
    if (used.cpus + def.cpus > agent.cpus + 1e-9) out.push('InsufficientCpus');
    if (used.mem + def.mem > agent.mem) out.push('InsufficientMemory');
    if (used.disk + def.disk > agent.disk) out.push('InsufficientDisk');
    return out;
  }

  // Marathon's constraint operators over `hostname` or an agent attribute.
  private fits(app: App, agent: AgentState): boolean {
    const value = (a: AgentState, field: string) => (field === 'hostname' ? a.hostname : a.attributes[field]);
    const peers = [...app.tasks.values()].filter((t) => !t.killing);
    return (app.def.constraints as string[][]).every(([field = '', op, arg]) => {
      const mine = value(agent, field);
      const taken = peers.map((t) => value(t.agent, field));
      switch (op) {
        case 'UNIQUE':
          return mine !== undefined && !taken.includes(mine);
        case 'CLUSTER':
          return mine !== undefined && (arg ? mine === arg : taken.every((v) => v === mine));
        case 'MAX_PER':
          return mine !== undefined && taken.filter((v) => v === mine).length < Number(arg);
        case 'LIKE':
          return mine !== undefined && new RegExp(`^(?:${arg})$`).test(mine);
        case 'UNLIKE':
          return mine === undefined || !new RegExp(`^(?:${arg})$`).test(mine);
        case 'IS':
          return mine === arg;
        default:
          return true;
      }
    });
  }

  private async launch(app: App, agent: AgentState): Promise<void> {
    const def = app.def;
    const id = `${def.id.slice(1).replaceAll('/', '_')}.instance-${randomUUID()}._app.1`;
    const ports: number[] = [];
    const sandbox = join(this.options.workDir, 'sandboxes', id);
    const task: Task = {
      id,
      appId: def.id,
      version: app.lastConfigChangeAt,
      agent,
      ports,
      state: 'TASK_STAGING',
      stagedAt: now(),
      startedAt: null,
      sandbox,
      env: {},
      child: null,
      health: (def.healthChecks as Json[]).map(() => ({ alive: false, consecutiveFailures: 0, firstSuccess: null, lastSuccess: null, lastFailure: null, lastFailureCause: null })),
      killing: false,
      unreachableSince: null,
      timers: [],
    };
    app.tasks.set(id, task);
    for (let i = 0; i < def.portDefinitions.length; i++) ports.push(await this.hostPort(agent.hostname));
    task.env = taskEnv(app, id, ports, sandbox, agent.hostname);
    this.options.log?.(`double: staging ${id} on ${agent.hostname}`);
    this.statusEvent(app, task, '');
    if (this.heldStaging.has(app.def.id)) return;
    try {
      await mkdir(sandbox, { recursive: true });
      for (const artifact of def.fetch as Json[]) await fetchArtifact(artifact, sandbox);
    } catch (err) {
      return this.ended(app, task, 'TASK_FAILED', `Failed to fetch all URIs for container '${id}': ${String(err)}`);
    }
    await new Promise((resolve) => task.timers.push(setTimeout(resolve, this.options.stagingMs ?? 300)));
    if (task.killing) return this.ended(app, task, 'TASK_KILLED', 'Command terminated with signal Terminated');
    const out = openSync(join(sandbox, 'stdout'), 'a');
    const err = openSync(join(sandbox, 'stderr'), 'a');
    const child = spawn('sh', ['-c', def.cmd ?? ''], { cwd: sandbox, env: task.env, stdio: ['ignore', out, err], detached: true });
    closeSync(out);
    closeSync(err);
    task.child = child;
    child.on('error', (e) => this.ended(app, task, 'TASK_FAILED', `Failed to launch: ${e.message}`));
    child.on('exit', (code, sig) => {
      const message = code !== null ? `Command exited with status ${code}` : `Command terminated with signal ${sig}`;
      this.ended(app, task, task.killing ? 'TASK_KILLED' : code === 0 ? 'TASK_FINISHED' : 'TASK_FAILED', message);
    });
    task.state = 'TASK_RUNNING';
    task.startedAt = now();
    this.statusEvent(app, task, '');
    if (def.healthChecks.length === 0) app.launchFailures = 0;
    (def.healthChecks as Json[]).forEach((check, i) => this.watchHealth(app, task, check, i));
  }

  private async hostPort(host: string): Promise<number> {
    for (;;) {
      const port = await freePort(host);
      if (!this.takenPorts.has(`${host}:${port}`)) {
        this.takenPorts.add(`${host}:${port}`);
        return port;
      }
    }
  }

  // A terminal state: Marathon expunges the task; a failure also delays the next launch (backoff).
  private ended(app: App, task: Task, state: string, message: string): void {
    if (!app.tasks.has(task.id)) return;
    task.timers.forEach(clearTimeout);
    task.state = state;
    app.tasks.delete(task.id);
    for (const port of task.ports) this.takenPorts.delete(`${task.agent.hostname}:${port}`);
    this.options.log?.(`double: ${task.id} ${state} (${message})`);
    this.statusEvent(app, task, message);
    // Killed tasks were asked to end (a health-check kill records its own failure).
    if (state !== 'TASK_FAILED') return;
    app.lastTaskFailure = { appId: app.def.id, host: task.agent.hostname, message, state, taskId: task.id, timestamp: now(), version: task.version, slaveId: task.agent.id };
    app.launchFailures++;
    const delay = Math.min(app.def.backoffSeconds * app.def.backoffFactor ** (app.launchFailures - 1), app.def.maxLaunchDelaySeconds);
    app.nextLaunchAt = Date.now() + delay * 1000;
  }

  /** SIGTERM to the task's process group, SIGKILL after the grace period. */
  private kill(task: Task, graceSeconds?: number): void {
    if (task.killing) return;
    task.killing = true;
    const app = this.apps.get(task.appId);
    if (!task.child) {
      if (app) this.ended(app, task, 'TASK_KILLED', 'Task killed while staging');
      return;
    }
    task.state = 'TASK_KILLING';
    if (app) this.statusEvent(app, task, '');
    const pid = task.child.pid!;
    signal(pid, 'SIGTERM');
    const grace = graceSeconds ?? app?.def.taskKillGracePeriodSeconds ?? 3;
    const timer = setTimeout(() => signal(pid, 'SIGKILL'), grace * 1000);
    timer.unref();
    task.timers.push(timer);
  }

  private killAllNow(): void {
    for (const task of this.allTasks()) if (task.child?.pid) signal(task.child.pid, 'SIGKILL');
  }

  private watchHealth(app: App, task: Task, check: Json, index: number): void {
    const health = task.health[index]!;
    const started = Date.now();
    const probe = async () => {
      if (!app.tasks.has(task.id) || task.killing) return;
      // An unreachable agent reports nothing; its last health stays as it was.
      if (task.state === 'TASK_UNREACHABLE') return void task.timers.push(setTimeout(probe, check.intervalSeconds * 1000));
      const failure = await runCheck(check, task);
      const stamp = now();
      const wasAlive = health.alive;
      if (!failure) {
        health.alive = true;
        health.consecutiveFailures = 0;
        health.firstSuccess ??= stamp;
        health.lastSuccess = stamp;
        app.launchFailures = 0;
      } else if (health.firstSuccess || Date.now() - started > check.gracePeriodSeconds * 1000) {
        // Failures inside the grace period, before a first success, are ignored.
        health.alive = false;
        health.consecutiveFailures++;
        health.lastFailure = stamp;
        health.lastFailureCause = failure;
        this.emit('failed_health_check_event', { appId: app.def.id, taskId: task.id, instanceId: instanceOf(task.id), healthCheck: check });
        const mesosLevel = String(check.protocol).startsWith('MESOS_') || check.protocol === 'COMMAND';
        const max = check.maxConsecutiveFailures;
        if (mesosLevel ? health.consecutiveFailures >= max : max > 0 && health.consecutiveFailures >= max) {
          this.options.log?.(`double: ${task.id} failed ${health.consecutiveFailures} health checks; killing it`);
          this.emit('unhealthy_instance_kill_event', { appId: app.def.id, taskId: task.id, instanceId: instanceOf(task.id), version: task.version, reason: failure, host: task.agent.hostname, slaveId: task.agent.id });
          this.kill(task);
          app.lastTaskFailure = { appId: app.def.id, host: task.agent.hostname, message: `Task was killed since health check failed. Reason: ${failure}`, state: 'TASK_KILLED', taskId: task.id, timestamp: stamp, version: task.version, slaveId: task.agent.id };
          return;
        }
      }
      if (wasAlive !== health.alive) this.emit('health_status_changed_event', { appId: app.def.id, taskId: task.id, instanceId: instanceOf(task.id), version: task.version, alive: health.alive });
      task.timers.push(setTimeout(probe, check.intervalSeconds * 1000));
    };
    task.timers.push(setTimeout(probe, 0));
  }

  // ---- JSON views ---------------------------------------------------------------------

  private appJson(app: App, embed: Set<string>): Json {
    const tasks = [...app.tasks.values()];
    const out: Json = {
      ...app.def,
      version: app.version,
      versionInfo: { lastScalingAt: app.version, lastConfigChangeAt: app.lastConfigChangeAt },
      tasksStaged: tasks.filter((t) => t.state === 'TASK_STAGING').length,
      tasksRunning: tasks.filter((t) => t.state === 'TASK_RUNNING').length,
      tasksHealthy: tasks.filter((t) => t.health.length > 0 && t.health.every((h) => h.alive)).length,
      tasksUnhealthy: tasks.filter((t) => t.health.some((h) => !h.alive && h.consecutiveFailures > 0)).length,
      deployments: this.deployments.filter((d) => d.appId === app.def.id).map((d) => ({ id: d.id })),
    };
    if (embed.has('tasks')) out.tasks = tasks.map((t) => this.taskJson(app, t));
    if (embed.has('lastTaskFailure') && app.lastTaskFailure) out.lastTaskFailure = app.lastTaskFailure;
    return out;
  }

  private taskJson(app: App, task: Task): Json {
    return {
      appId: app.def.id,
      host: task.agent.hostname,
      id: task.id,
      ipAddresses: [{ ipAddress: task.agent.hostname, protocol: 'IPv4' }],
      ports: task.ports,
      servicePorts: app.def.portDefinitions.map((p: Json) => p.port),
      slaveId: task.agent.id,
      state: task.state,
      stagedAt: task.stagedAt,
      ...(task.startedAt ? { startedAt: task.startedAt } : {}),
      version: task.version,
      ...(task.health.length && task.startedAt ? { healthCheckResults: task.health.map((h) => ({ ...h, instanceId: instanceOf(task.id) })) } : {}),
      localVolumes: [],
      role: '*',
    };
  }

  private deploymentJson(d: Deployment): Json {
    const actions = [{ action: d.action, app: d.appId }];
    return { id: d.id, version: d.version, affectedApps: [d.appId], affectedPods: [], steps: [{ actions }], currentActions: actions.map((a) => ({ ...a, readinessCheckResults: [] })), currentStep: 1, totalSteps: 1 };
  }

  // A deployment plan as events carry it: the root group before and after, and the steps.
  private planJson(d: Deployment): Json {
    const group = (apps: Json[]) => ({ id: '/', apps, groups: [], pods: [], dependencies: [], version: d.version });
    const app = this.apps.get(d.appId);
    return { id: d.id, version: d.version, original: group(d.previous ? [d.previous.def] : []), target: group(app ? [app.def] : []), steps: this.deploymentJson(d).steps };
  }

  // GET /v2/queue: instances Marathon wants but has not placed, with why the offers did not fit.
  private queueJson(withOffers: boolean): Json[] {
    const out: Json[] = [];
    for (const app of this.apps.values()) {
      if (!app.queue || app.stopping) continue;
      const live = [...app.tasks.values()].filter((t) => !t.killing && !this.inactive(app, t) && t.version === app.lastConfigChangeAt).length;
      const count = app.def.instances - live;
      if (count <= 0) continue;
      const left = Math.max(0, (app.nextLaunchAt - Date.now()) / 1000);
      // rejectSummaryLastOffers: over the last offer of each agent; ...LaunchAttempt: since the instance was queued.
      const last = [...app.queue.last.values()];
      const lastOffers = REASONS.map((reason) => ({ reason, declined: last.filter((r) => r.includes(reason)).length, processed: last.length }));
      const summary = REASONS.map((reason) => ({ reason, declined: app.queue!.reasons.get(reason) ?? 0, processed: app.queue!.processed }));
      out.push({
        app: this.appJson(app, new Set()),
        count,
        delay: { timeLeftSeconds: Math.ceil(left), overdue: left === 0 },
        since: app.queue.since,
        processedOffersSummary: {
          processedOffersCount: app.queue.processed,
          unusedOffersCount: app.queue.unused,
          lastUnusedOfferAt: app.queue.lastUnusedOfferAt,
          lastUsedOfferAt: app.queue.lastUsedOfferAt,
          rejectSummaryLastOffers: lastOffers,
          rejectSummaryLaunchAttempt: summary,
        },
        ...(withOffers
          ? {
              lastUnusedOffers: this.agents.map((agent) => ({
                offer: { id: randomUUID(), agentId: agent.id, hostname: agent.hostname, resources: [], attributes: Object.entries(agent.attributes).map(([name, text]) => ({ name, text })) },
                reason: this.rejects(app, agent),
                timestamp: app.queue!.lastUnusedOfferAt,
              })),
            }
          : {}),
      });
    }
    return out;
  }
}

// ---- helpers ----------------------------------------------------------------------------

function now(): string {
  return new Date().toISOString();
}

function normalize(id: string): string {
  return '/' + id.replace(/^\/+|\/+$/g, '');
}

/** Jersey's Boolean query parameters: `true` in any case is true, anything else false. */
function flag(url: URL, name: string): boolean {
  return (url.searchParams.get(name) ?? '').toLowerCase() === 'true';
}

function instanceOf(taskId: string): string {
  return taskId.replace(/\._app\.\d+$/, '');
}

// What Jetty answers when the leader proxy cannot reach the leader.
function jettyError(status: number, reason: string, path: string): string {
  return `<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html;charset=ISO-8859-1"/>\n<title>Error ${status} ${reason}</title>\n</head>\n<body><h2>HTTP ERROR ${status}</h2>\n<p>Problem accessing ${path}. Reason:\n<pre>    ${reason}</pre></p><hr><a href="http://eclipse.org/jetty">Powered by Jetty:// 9.4</a><hr/>\n</body>\n</html>\n`;
}

function notFound(id: string): [number, unknown] {
  return [404, { message: `App '${id}' does not exist` }];
}

// `embed=app.tasks&embed=app.lastTaskFailure`; a single-app GET without embed gets them all.
function embeds(url: URL, prefix: 'app' | 'apps'): Set<string> {
  const asked = url.searchParams.getAll('embed').filter((e) => e.startsWith(`${prefix}.`)).map((e) => e.slice(prefix.length + 1));
  if (asked.includes('failures')) asked.push('tasks', 'lastTaskFailure');
  if (asked.length === 0 && prefix === 'app') return new Set(['tasks', 'lastTaskFailure']);
  return new Set(asked);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

// Marathon's defaults for the fields the double acts on.
function withDefaults(body: Json): Json {
  return {
    instances: 1,
    cpus: 1,
    mem: 128,
    disk: 0,
    backoffSeconds: 1,
    backoffFactor: 1.15,
    maxLaunchDelaySeconds: 300,
    portDefinitions: [{ port: 0, protocol: 'tcp' }],
    requirePorts: false,
    fetch: [],
    constraints: [],
    killSelection: 'YOUNGEST_FIRST',
    labels: {},
    env: {},
    ...structuredClone(body),
    upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 1, ...(body.upgradeStrategy ?? {}) },
    unreachableStrategy: body.unreachableStrategy === 'disabled' ? { inactiveAfterSeconds: 1e9, expungeAfterSeconds: 1e9 } : { inactiveAfterSeconds: 0, expungeAfterSeconds: 0, ...(body.unreachableStrategy ?? {}) },
    id: normalize(String(body.id)),
    healthChecks: ((body.healthChecks as Json[] | undefined) ?? []).map((check) => ({
      protocol: 'HTTP',
      path: '/',
      portIndex: 0,
      gracePeriodSeconds: 300,
      intervalSeconds: 60,
      timeoutSeconds: 20,
      maxConsecutiveFailures: 3,
      ...check,
    })),
  };
}

// 400 for wrong JSON types, 422 for rule violations, each with Marathon's `details`.
function validate(body: unknown): [number, unknown] | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return [400, { message: 'Invalid JSON', details: [{ path: '/', errors: ['error.expected.jsobject'] }] }];
  const app = body as Json;
  const typeErrors: { path: string; errors: string[] }[] = [];
  const expect = (key: string, type: 'string' | 'number' | 'array' | 'object' | 'boolean') => {
    const value = app[key];
    if (value === undefined) return;
    const ok = type === 'array' ? Array.isArray(value) : type === 'object' ? typeof value === 'object' && value !== null && !Array.isArray(value) : typeof value === type;
    if (!ok) typeErrors.push({ path: `/${key}`, errors: [`error.expected.js${type === 'array' ? 'array' : type}`] });
  };
  for (const key of ['id', 'cmd']) expect(key, 'string');
  for (const key of ['instances', 'cpus', 'mem', 'disk', 'taskKillGracePeriodSeconds', 'backoffSeconds', 'backoffFactor', 'maxLaunchDelaySeconds']) expect(key, 'number');
  for (const key of ['args', 'portDefinitions', 'healthChecks', 'constraints', 'fetch']) expect(key, 'array');
  for (const key of ['labels', 'env']) expect(key, 'object');
  if (typeErrors.length) return [400, { message: 'Invalid JSON', details: typeErrors }];

  const errors: { path: string; errors: string[] }[] = [];
  const fail = (path: string, error: string) => errors.push({ path, errors: [error] });
  const id = String(app.id ?? '');
  if (!id || !id.replace(/^\/+/, '').split('/').every((segment) => ID_SEGMENT.test(segment))) {
    fail('/id', `must fully match regular expression '^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])|(\\.|\\.\\.)$'`);
  }
  if ((app.cmd === undefined) === (app.args === undefined) && app.container === undefined) fail('/', "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.");
  const min = (key: string, least: number) => {
    if (typeof app[key] === 'number' && app[key] < least) fail(`/${key}`, `got ${app[key]}, expected ${least} or more`);
  };
  min('cpus', 0.001);
  min('mem', 0);
  min('disk', 0);
  min('instances', 0);
  min('taskKillGracePeriodSeconds', 0);
  const ports = (app.portDefinitions as Json[] | undefined) ?? [{ port: 0 }];
  ports.forEach((p, i) => {
    if (typeof p.port !== 'number' || p.port < 0 || p.port > 65535) fail(`/portDefinitions(${i})/port`, 'got ' + p.port + ', expected 0 to 65535');
  });
  const names = ports.map((p) => p.name).filter(Boolean);
  if (new Set(names).size !== names.length) fail('/portDefinitions', 'Port names must be unique.');
  ((app.healthChecks as Json[] | undefined) ?? []).forEach((check, i) => {
    if (check.protocol !== undefined && !PROTOCOLS.includes(check.protocol)) fail(`/healthChecks(${i})/protocol`, `error.expected.validenumvalue`);
    if (check.port === undefined && (check.portIndex ?? 0) >= ports.length && check.protocol !== 'COMMAND') {
      fail(`/healthChecks(${i})`, 'Health check port indices must address an element of the ports array or container port mappings.');
    }
  });
  ((app.constraints as unknown[] | undefined) ?? []).forEach((c, i) => {
    if (!Array.isArray(c) || c.length < 2 || c.length > 3) return fail(`/constraints(${i})`, 'Each constraint must have either 2 or 3 fields');
    if (!OPERATORS.includes(String(c[1]))) fail(`/constraints(${i})`, `Constraint operator must be one of the following: [${OPERATORS.join(', ')}]`);
  });
  ((app.fetch as Json[] | undefined) ?? []).forEach((a, i) => {
    if (typeof a.uri !== 'string' || a.uri.length === 0) fail(`/fetch(${i})/uri`, 'URI has invalid syntax.');
  });
  return errors.length ? [422, { message: 'Object is not valid', details: errors }] : null;
}

// What Marathon and Mesos put into a task's environment (on top of the agent's own).
function taskEnv(app: App, id: string, ports: number[], sandbox: string, host: string): NodeJS.ProcessEnv {
  const def = app.def;
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [key, value] of Object.entries(def.env as Json)) if (typeof value === 'string') env[key] = value;
  ports.forEach((port, i) => {
    env[`PORT${i}`] = String(port);
    const name = def.portDefinitions[i]?.name;
    if (name) env[`PORT_${String(name).toUpperCase().replace(/[^A-Z0-9]/g, '_')}`] = String(port);
  });
  if (ports.length) env.PORT = String(ports[0]);
  env.PORTS = ports.join(',');
  env.HOST = host;
  env.MESOS_SANDBOX = sandbox;
  env.MESOS_TASK_ID = id;
  env.MARATHON_APP_ID = def.id;
  env.MARATHON_APP_VERSION = app.version;
  env.MARATHON_APP_RESOURCE_CPUS = String(def.cpus);
  env.MARATHON_APP_RESOURCE_MEM = String(def.mem);
  env.MARATHON_APP_RESOURCE_DISK = String(def.disk);
  env.MARATHON_APP_LABELS = Object.keys(def.labels).map((k) => k.toUpperCase().replace(/[^A-Z0-9]/g, '_')).join(' ');
  for (const [key, value] of Object.entries(def.labels as Record<string, string>)) env[`MARATHON_APP_LABEL_${key.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`] = value;
  return env;
}

/** One health check; null when it passes, else why it failed. */
async function runCheck(check: Json, task: Task): Promise<string | null> {
  const protocol = String(check.protocol).replace(/^MESOS_/, '');
  const port = check.port ?? task.ports[check.portIndex ?? 0];
  const timeoutMs = check.timeoutSeconds * 1000;
  try {
    if (protocol === 'HTTP' || protocol === 'HTTPS') {
      const scheme = protocol === 'HTTPS' ? 'https' : 'http';
      const res = await request(`${scheme}://${task.agent.hostname}:${port}${check.path ?? '/'}`, {
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        ...(protocol === 'HTTPS' ? { dispatcher: insecure } : {}),
      });
      await res.body.dump();
      return res.statusCode >= 200 && res.statusCode < 400 ? null : `HTTP ${res.statusCode}`;
    }
    if (protocol === 'TCP') return await tcpCheck(task.agent.hostname, port, timeoutMs);
    const result = await run('sh', ['-c', String(check.command?.value ?? 'false')], { cwd: task.sandbox, env: task.env, timeoutMs });
    return result.code === 0 ? null : `command exited with ${result.code}`;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

function tcpCheck(host: string, port: number, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(null);
    });
    socket.once('error', (err) => resolve(err.message));
  });
}

// The Mesos fetcher, for the URIs a test can serve: file://, plain paths and loopback http(s).
async function fetchArtifact(artifact: Json, sandbox: string): Promise<void> {
  const uri = String(artifact.uri);
  const name = artifact.destPath ?? basename(new URL(uri, 'file:///').pathname);
  const target = join(sandbox, name);
  if (/^https?:\/\//.test(uri)) {
    // Tests stay on this machine: the double downloads from loopback only.
    const host = new URL(uri).hostname;
    if (!/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(host)) throw new Error(`the test double fetches only from loopback, not ${host}`);
    const res = await request(uri);
    if (res.statusCode !== 200) throw new Error(`${uri} answered ${res.statusCode}`);
    await writeFile(target, Buffer.from(await res.body.arrayBuffer()));
  } else {
    await copyFile(uri.startsWith('file://') ? fileURLToPath(uri) : uri, target);
  }
  if (artifact.executable) await chmod(target, 0o755);
  if ((artifact.extract ?? true) && /\.(tar|tgz|tar\.gz|tar\.bz2|tar\.xz|txz|tbz2)$/.test(name)) {
    const result = await run('tar', ['-xf', target, '-C', sandbox]);
    if (result.code !== 0) throw new Error(`cannot extract ${name}: ${result.stderr}`);
  }
}
