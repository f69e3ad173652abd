// A TEST DOUBLE of Marathon 1.10's REST API v2, with a one-agent "Mesos" behind it.
// It is NOT Marathon: it follows Marathon's documented semantics (docs/docs/rest-api,
// health-checks, ports, deployments, task-handling) closely enough to test Dromedar's
// Marathon scheduler against real Drillbits on this machine.
//
// What it does, as Marathon and Mesos would:
// - apps: POST /v2/apps, GET /v2/apps[?id=], GET/PUT(partial update, creates when
//   missing)/DELETE /v2/apps/{id}, GET /v2/apps/{id}/tasks, DELETE /v2/apps/{id}/tasks/{taskId}
//   (?scale=true lowers `instances` through a deployment); embeds app.tasks,
//   app.deployments, app.lastTaskFailure, app.counts; ?force=true; 400/422 with `details`;
//   401/403 for basic auth and `Authorization: token=...`.
// - deployments: one per change, listed by GET /v2/deployments until its goal is reached
//   (tasks running, and healthy where health checks exist; killed tasks gone); while one
//   runs, other changes to the app get 409 "App is locked by one or more deployments".
// - tasks: each really runs its `cmd` with `sh -c` in its own sandbox folder and process
//   group, with PORT0..n, PORTS, PORT_<NAME>, HOST=127.0.0.1, MESOS_SANDBOX, MESOS_TASK_ID
//   and MARATHON_APP_*; TASK_STAGING -> TASK_RUNNING -> TASK_FINISHED/FAILED/KILLED.
//   Kill = SIGTERM to the group, SIGKILL after taskKillGracePeriodSeconds (Mesos: 3 s).
//   A task that ends unasked is replaced (new task id), after Marathon's launch backoff.
// - health checks (HTTP, HTTPS, TCP, COMMAND and their MESOS_ twins) are really run, with
//   gracePeriodSeconds, intervalSeconds, timeoutSeconds, maxConsecutiveFailures.
//
// Where it deviates from real Marathon/Mesos: one agent (127.0.0.1) with unlimited
// resources, so cpus/mem/disk are validated but not enforced, and constraints never stop
// a launch; host ports are free ports picked on this machine; a config change restarts
// all tasks at once (no upgradeStrategy, no readiness checks); `fetch` copies file:// and
// plain paths, downloads http(s) from loopback only, extracts tar archives only; no pods, groups, queue,
// events, versions, or DELETE /v2/deployments; no TASK_KILLING feature flag (always on).
// Test hooks: lockApp() injects a lingering deployment (409s), holdStaging() keeps
// tasks in TASK_STAGING, requests records what was asked and answered.
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

export interface MarathonDoubleOptions {
  /** Sandboxes of the tasks go below this folder. */
  workDir: string;
  /** Without it, every request is allowed (Marathon without an auth plugin). */
  auth?: { users?: Record<string, string>; tokens?: string[]; readOnly?: string[] };
  /** How long a task stays TASK_STAGING before its command starts. */
  stagingMs?: number;
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
  ports: number[];
  state: string;
  stagedAt: string;
  startedAt: string | null;
  sandbox: string;
  env: NodeJS.ProcessEnv;
  child: ChildProcess | null;
  health: Health[];
  killing: boolean;
  timers: NodeJS.Timeout[];
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
}

interface Deployment {
  id: string;
  version: string;
  appId: string;
  action: string;
  /** The goal: when it holds (and `until` has passed), the deployment is over. */
  done: () => boolean;
  until: number;
}

const LOCKED = "App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.";
const OPERATORS = ['UNIQUE', 'CLUSTER', 'GROUP_BY', 'LIKE', 'UNLIKE', 'MAX_PER', 'IS'];
const PROTOCOLS = ['HTTP', 'HTTPS', 'TCP', 'COMMAND', 'MESOS_HTTP', 'MESOS_HTTPS', 'MESOS_TCP'];
const ID_SEGMENT = /^(([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])$/;
const HOST = '127.0.0.1';
const insecure = new Agent({ connect: { rejectUnauthorized: false } });

export class MarathonDouble {
  readonly apps = new Map<string, App>();
  readonly deployments: Deployment[] = [];
  /** Every request answered, for tests that check what the client did. */
  readonly requests: { method: string; path: string; status: number }[] = [];
  private server: Server | null = null;
  private loop: NodeJS.Timeout | null = null;
  private port = 0;
  private readonly takenPorts = new Set<number>();
  private readonly heldStaging = new Set<string>();
  private nextServicePort = 10_000;
  private readonly exitGuard = () => this.killAllNow();

  constructor(private readonly options: MarathonDoubleOptions) {}

  get url(): string {
    return `http://${HOST}:${this.port}`;
  }

  async start(): Promise<string> {
    await mkdir(this.options.workDir, { recursive: true });
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, HOST, resolve));
    this.port = (this.server.address() as { port: number }).port;
    this.loop = setInterval(() => this.reconcile(), 200);
    process.on('exit', this.exitGuard);
    return this.url;
  }

  /** Stops serving and kills every task's process group (SIGTERM, then SIGKILL). */
  async close(): Promise<void> {
    if (this.loop) clearInterval(this.loop);
    this.loop = null;
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
    const tasks = [...this.apps.values()].flatMap((app) => [...app.tasks.values()]);
    for (const task of tasks) this.kill(task, 5);
    const deadline = Date.now() + 15_000;
    while (tasks.some((t) => t.child && isAlive(t.child.pid!)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    this.killAllNow();
    process.off('exit', this.exitGuard);
  }

  /** Test hook: a deployment that holds the app for `ms` (as another operator's slow one would). */
  lockApp(appId: string, ms: number): string {
    const id = randomUUID();
    this.deployments.push({ id, version: now(), appId: normalize(appId), action: 'RestartApplication', done: () => true, until: Date.now() + ms });
    return id;
  }

  /** Test hook: new tasks of the app (existing or not yet) stay TASK_STAGING: no agent starts them. */
  holdStaging(appId: string, hold = true): void {
    if (hold) this.heldStaging.add(normalize(appId));
    else this.heldStaging.delete(normalize(appId));
  }

  /** Pid of the task's `sh -c` (the leader of its process group). */
  taskPid(taskId: string): number | undefined {
    for (const app of this.apps.values()) {
      const pid = app.tasks.get(taskId)?.child?.pid;
      if (pid !== undefined) return pid;
    }
    return undefined;
  }

  /** The task's sandbox folder ($MESOS_SANDBOX). */
  sandbox(taskId: string): string | undefined {
    for (const app of this.apps.values()) {
      const task = app.tasks.get(taskId);
      if (task) return task.sandbox;
    }
    return undefined;
  }

  /** Pids of every live task process group leader. */
  pids(): number[] {
    return [...this.apps.values()].flatMap((app) => [...app.tasks.values()]).flatMap((t) => (t.child?.pid && isAlive(t.child.pid) ? [t.child.pid] : []));
  }

  // ---- HTTP ---------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      this.requests.push({ method, path: url.pathname + url.search, status });
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    try {
      const denied = this.authorize(req, method);
      if (denied) return reply(denied.status, { message: denied.message });
      const text = await readBody(req);
      let body: unknown = undefined;
      if (text) {
        try {
          body = JSON.parse(text);
        } catch {
          return reply(400, { message: 'Invalid JSON', details: [{ path: '/', errors: ['error.expected.jsobject'] }] });
        }
      }
      const [status, out, headers] = this.route(method, url, body);
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

  private route(method: string, url: URL, body: unknown): [number, unknown, Record<string, string>?] {
    const path = url.pathname.replace(/\/+$/, '');
    const force = url.searchParams.get('force') === 'true';
    if (path === '/ping' && method === 'GET') return [200, 'pong'];
    if (path === '/v2/info' && method === 'GET') return [200, { name: 'marathon', version: '1.10.0 (test double)', leader: `${HOST}:${this.port}` }];
    if (path === '/v2/deployments' && method === 'GET') return [200, this.deployments.map((d) => this.deploymentJson(d))];
    if (path === '/v2/apps') {
      if (method === 'GET') {
        const filter = url.searchParams.get('id');
        const apps = [...this.apps.values()].filter((app) => !filter || app.def.id.includes(filter));
        return [200, { apps: apps.map((app) => this.appJson(app, embeds(url, 'apps'))) }];
      }
      if (method === 'POST') return this.create(body, force);
    }
    const task = /^\/v2\/apps(\/.+)\/tasks\/([^/]+)$/.exec(path);
    if (task && method === 'DELETE') return this.killTask(task[1]!, decodeURIComponent(task[2]!), url.searchParams.get('scale') === 'true', force);
    const tasks = /^\/v2\/apps(\/.+)\/tasks$/.exec(path);
    if (tasks && method === 'GET') {
      const app = this.apps.get(tasks[1]!);
      if (!app) return notFound(tasks[1]!);
      return [200, { tasks: [...app.tasks.values()].map((t) => this.taskJson(app, t)) }];
    }
    const one = /^\/v2\/apps(\/.+)$/.exec(path);
    if (one) {
      const id = one[1]!;
      const app = this.apps.get(id);
      if (method === 'GET') return app ? [200, { app: this.appJson(app, embeds(url, 'app')) }] : notFound(id);
      if (method === 'PUT') return app ? this.update(app, body, force) : this.create({ ...(body as Json), id }, force, true);
      if (method === 'DELETE') return app ? this.destroy(app, force) : notFound(id);
    }
    return [404, { message: `The requested resource ${method} ${path} does not exist (test double)` }];
  }

  // ---- apps and deployments ------------------------------------------------------------

  private create(body: unknown, _force: boolean, viaPut = false): [number, unknown, Record<string, string>?] {
    const invalid = validate(body);
    if (invalid) return invalid;
    const def = withDefaults(body as Json);
    if (this.apps.has(def.id)) return [409, { message: `An app with id [${def.id}] already exists.` }];
    this.assignServicePorts(def);
    const version = now();
    const app: App = { def, version, lastConfigChangeAt: version, tasks: new Map(), lastTaskFailure: null, launchFailures: 0, nextLaunchAt: 0, stopping: false };
    this.apps.set(def.id, app);
    const deployment = this.deploy(app, 'StartApplication', () => this.converged(app));
    const headers = { 'Marathon-Deployment-Id': deployment.id, Location: `${this.url}/v2/apps${def.id}` };
    if (viaPut) return [201, { deploymentId: deployment.id, version }, headers];
    return [201, { ...this.appJson(app, new Set()), deployments: [{ id: deployment.id }] }, headers];
  }

  // PUT with Marathon's default partialUpdate=true: fields not sent keep their values.
  private update(app: App, body: unknown, force: boolean): [number, unknown, Record<string, string>?] {
    const locked = this.locked(app.def.id, force);
    if (locked) return locked;
    const merged = { ...app.def, ...(body as Json), id: app.def.id };
    const invalid = validate(merged);
    if (invalid) return invalid;
    const def = withDefaults(merged);
    this.assignServicePorts(def);
    const { instances: _a, ...before } = app.def;
    const { instances: _b, ...after } = def;
    const restart = JSON.stringify(before) !== JSON.stringify(after);
    app.def = def;
    app.version = now();
    if (restart) {
      app.lastConfigChangeAt = app.version;
      app.launchFailures = 0;
    }
    const deployment = this.deploy(app, restart ? 'RestartApplication' : 'ScaleApplication', () => this.converged(app));
    return [200, { deploymentId: deployment.id, version: app.version }, { 'Marathon-Deployment-Id': deployment.id }];
  }

  private destroy(app: App, force: boolean): [number, unknown, Record<string, string>?] {
    const locked = this.locked(app.def.id, force);
    if (locked) return locked;
    app.stopping = true;
    for (const task of app.tasks.values()) this.kill(task);
    const deployment = this.deploy(app, 'StopApplication', () => {
      if (app.tasks.size > 0) return false;
      this.apps.delete(app.def.id);
      return true;
    });
    return [200, { deploymentId: deployment.id, version: now() }, { 'Marathon-Deployment-Id': deployment.id }];
  }

  private killTask(appId: string, taskId: string, scale: boolean, force: boolean): [number, unknown, Record<string, string>?] {
    const app = this.apps.get(appId);
    if (!app) return notFound(appId);
    const task = app.tasks.get(taskId);
    if (!task) return [404, { message: `Task '${taskId}' does not exist` }];
    if (!scale) {
      this.kill(task);
      return [200, { task: this.taskJson(app, task) }];
    }
    const locked = this.locked(appId, force);
    if (locked) return locked;
    app.def.instances = Math.max(0, app.def.instances - 1);
    app.version = now();
    this.kill(task);
    const deployment = this.deploy(app, 'ScaleApplication', () => !app.tasks.has(taskId));
    return [200, { deploymentId: deployment.id, version: app.version }, { 'Marathon-Deployment-Id': deployment.id }];
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

  private deploy(app: App, action: string, done: () => boolean): Deployment {
    const deployment = { id: randomUUID(), version: app.version, appId: app.def.id, action, done, until: 0 };
    this.deployments.push(deployment);
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

  // ---- the agent: launching, watching and killing tasks ---------------------------------

  private reconcile(): void {
    for (const app of [...this.apps.values()]) {
      if (app.stopping) continue;
      for (const task of app.tasks.values()) {
        if (task.version !== app.lastConfigChangeAt && !task.killing) this.kill(task);
      }
      const live = [...app.tasks.values()].filter((t) => !t.killing);
      // Marathon's default killSelection: YOUNGEST_FIRST.
      live.sort((a, b) => b.stagedAt.localeCompare(a.stagedAt));
      for (const extra of live.slice(0, Math.max(0, live.length - app.def.instances))) this.kill(extra);
      if (Date.now() >= app.nextLaunchAt) {
        for (let i = live.length; i < app.def.instances; i++) void this.launch(app);
      }
    }
    for (const d of [...this.deployments]) {
      if (Date.now() >= d.until && d.done()) this.deployments.splice(this.deployments.indexOf(d), 1);
    }
  }

  private async launch(app: App): Promise<void> {
    const def = app.def;
    const id = `${def.id.slice(1).replaceAll('/', '_')}.instance-${randomUUID()}._app.1`;
    const ports: number[] = [];
    for (let i = 0; i < def.portDefinitions.length; i++) ports.push(await this.hostPort());
    const sandbox = join(this.options.workDir, 'sandboxes', id);
    const task: Task = {
      id,
      appId: def.id,
      version: app.lastConfigChangeAt,
      ports,
      state: 'TASK_STAGING',
      stagedAt: now(),
      startedAt: null,
      sandbox,
      env: taskEnv(app, id, ports, sandbox),
      child: null,
      health: (def.healthChecks as Json[]).map(() => ({ alive: false, consecutiveFailures: 0, firstSuccess: null, lastSuccess: null, lastFailure: null, lastFailureCause: null })),
      killing: false,
      timers: [],
    };
    app.tasks.set(id, task);
    this.options.log?.(`double: staging ${id}`);
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
    const child = spawn('sh', ['-c', def.cmd], { cwd: sandbox, env: task.env, stdio: ['ignore', out, err], detached: true });
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
    if (def.healthChecks.length === 0) app.launchFailures = 0;
    (def.healthChecks as Json[]).forEach((check, i) => this.watchHealth(app, task, check, i));
  }

  private async hostPort(): Promise<number> {
    for (;;) {
      const port = await freePort(HOST);
      if (!this.takenPorts.has(port)) {
        this.takenPorts.add(port);
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
    for (const port of task.ports) this.takenPorts.delete(port);
    this.options.log?.(`double: ${task.id} ${state} (${message})`);
    // Killed tasks were asked to end (a health-check kill records its own failure).
    if (state !== 'TASK_FAILED') return;
    app.lastTaskFailure = { appId: app.def.id, host: HOST, message, state, taskId: task.id, timestamp: now(), version: task.version, slaveId: 'double-agent-1' };
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
    const pid = task.child.pid!;
    signal(pid, 'SIGTERM');
    const grace = graceSeconds ?? app?.def.taskKillGracePeriodSeconds ?? 3;
    const timer = setTimeout(() => signal(pid, 'SIGKILL'), grace * 1000);
    timer.unref();
    task.timers.push(timer);
  }

  private killAllNow(): void {
    for (const app of this.apps.values()) for (const task of app.tasks.values()) if (task.child?.pid) signal(task.child.pid, 'SIGKILL');
  }

  private watchHealth(app: App, task: Task, check: Json, index: number): void {
    const health = task.health[index]!;
    const started = Date.now();
    const probe = async () => {
      if (!app.tasks.has(task.id) || task.killing) return;
      const failure = await runCheck(check, task);
      const stamp = now();
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
        const mesosLevel = String(check.protocol).startsWith('MESOS_') || check.protocol === 'COMMAND';
        const max = check.maxConsecutiveFailures;
        if (mesosLevel ? health.consecutiveFailures >= max : max > 0 && health.consecutiveFailures >= max) {
          this.options.log?.(`double: ${task.id} failed ${health.consecutiveFailures} health checks; killing it`);
          this.kill(task);
          app.lastTaskFailure = { appId: app.def.id, host: HOST, message: `Task was killed since health check failed. Reason: ${failure}`, state: 'TASK_KILLED', taskId: task.id, timestamp: stamp, version: task.version, slaveId: 'double-agent-1' };
          return;
        }
      }
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
      host: HOST,
      id: task.id,
      ipAddresses: [{ ipAddress: HOST, protocol: 'IPv4' }],
      ports: task.ports,
      servicePorts: app.def.portDefinitions.map((p: Json) => p.port),
      slaveId: 'double-agent-1',
      state: task.state,
      stagedAt: task.stagedAt,
      ...(task.startedAt ? { startedAt: task.startedAt } : {}),
      version: task.version,
      ...(task.health.length && task.startedAt ? { healthCheckResults: task.health.map((h) => ({ ...h, instanceId: task.id.replace(/\._app\.\d+$/, '') })) } : {}),
      localVolumes: [],
      role: '*',
    };
  }

  private deploymentJson(d: Deployment): Json {
    const actions = [{ action: d.action, app: d.appId }];
    return { id: d.id, version: d.version, affectedApps: [d.appId], affectedPods: [], steps: [{ actions }], currentActions: actions.map((a) => ({ ...a, readinessCheckResults: [] })), currentStep: 1, totalSteps: 1 };
  }
}

// ---- helpers ----------------------------------------------------------------------------

function now(): string {
  return new Date().toISOString();
}

function normalize(id: string): string {
  return '/' + id.replace(/^\/+|\/+$/g, '');
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
    labels: {},
    env: {},
    ...structuredClone(body),
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
function taskEnv(app: App, id: string, ports: number[], sandbox: string): NodeJS.ProcessEnv {
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
  env.HOST = HOST;
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
      const res = await request(`${scheme}://${HOST}:${port}${check.path ?? '/'}`, {
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        ...(protocol === 'HTTPS' ? { dispatcher: insecure } : {}),
      });
      await res.body.dump();
      return res.statusCode >= 200 && res.statusCode < 400 ? null : `HTTP ${res.statusCode}`;
    }
    if (protocol === 'TCP') return await tcpCheck(port, timeoutMs);
    const result = await run('sh', ['-c', String(check.command?.value ?? 'false')], { cwd: task.sandbox, env: task.env, timeoutMs });
    return result.code === 0 ? null : `command exited with ${result.code}`;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

function tcpCheck(port: number, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect(port, HOST);
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
