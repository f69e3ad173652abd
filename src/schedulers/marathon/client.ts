// Marathon's REST API v2, as far as the Drillbits app needs it, over undici. Every
// failure becomes a DromedarError that says what Marathon said and what to do; a
// change that hits an app locked by a deployment waits for that deployment (bounded),
// and overrides it with ?force=true only when configured to.
import type { Dispatcher } from 'undici';
import { DromedarError } from '../../util/errors.js';
import { sleep } from '../../util/process.js';
import type { MarathonApp } from './app-definition.js';
import { MarathonEndpoints, summary, type Reply } from './leader.js';
import { ServiceAccountLogin } from './login.js';

/** A task as /v2/apps/{id}?embed=app.tasks lists it. */
export interface MarathonTask {
  id: string;
  appId: string;
  host: string;
  ports?: number[];
  state: string;
  stagedAt?: string;
  startedAt?: string;
  version?: string;
  healthCheckResults?: HealthCheckResult[];
}

export interface HealthCheckResult {
  alive: boolean;
  consecutiveFailures: number;
  firstSuccess?: string | null;
  lastSuccess?: string | null;
  lastFailure?: string | null;
  lastFailureCause?: string | null;
}

export interface TaskFailure {
  appId: string;
  host: string;
  message: string;
  state: string;
  taskId: string;
  timestamp: string;
  version?: string;
}

export interface AppInfo {
  id: string;
  instances: number;
  labels?: Record<string, string>;
  tasks?: MarathonTask[];
  deployments?: { id: string }[];
  lastTaskFailure?: TaskFailure;
}

export interface Deployment {
  id: string;
  affectedApps: string[];
  currentActions?: { action: string; app?: string }[];
  currentStep?: number;
  totalSteps?: number;
}

export interface MarathonAccess {
  url: string;
  urls?: string[] | undefined;
  caFile?: string | undefined;
  user?: string | undefined;
  password?: string | undefined;
  token?: string | undefined;
  serviceAccount?: { uid: string; privateKeyFile: string; loginUrl?: string | undefined } | undefined;
  force: boolean;
  deploymentTimeoutMs: number;
  requestRetryMs?: number | undefined;
  requestTimeoutMs?: number | undefined;
}

/** A change to send: recomputed before each attempt, null when nothing (any longer) needs changing. */
type Change = () => Promise<{ method: Dispatcher.HttpMethod; path: string; body?: unknown } | null>;

export class MarathonClient {
  readonly endpoints: MarathonEndpoints;
  private readonly login: ServiceAccountLogin | null;
  private readonly basic: string | undefined;
  /** Deployments this gateway started (from Marathon's answers): the only ones it overrides unasked. */
  readonly mine = new Set<string>();

  constructor(
    private readonly access: MarathonAccess,
    private readonly log: (line: string) => void = () => {},
    dispatcher?: Dispatcher,
  ) {
    const first = new URL(access.url);
    // Credentials in the URL (https://user:pw@host) count as basic auth, and never travel in it.
    const user = access.user ?? (first.username ? decodeURIComponent(first.username) : undefined);
    const password = access.password ?? (first.password ? decodeURIComponent(first.password) : '');
    const urls = [access.url, ...(access.urls ?? [])].map((raw) => {
      const url = new URL(raw);
      url.username = '';
      url.password = '';
      return url.href.replace(/\/+$/, '');
    });
    if (!access.token && user) this.basic = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    this.login = access.serviceAccount && !access.token ? new ServiceAccountLogin(access.serviceAccount, urls[0]!, access.caFile) : null;
    this.endpoints = new MarathonEndpoints({
      urls,
      caFile: access.caFile,
      retryMs: access.requestRetryMs ?? 60_000,
      requestTimeoutMs: access.requestTimeoutMs,
      log,
      dispatcher,
      authorization: async () => (access.token ? `token=${access.token}` : this.login ? `token=${await this.login.token()}` : this.basic),
    });
  }

  /** Marathon's address without credentials (the one that answered last): the only form in messages and logs. */
  get where(): string {
    return this.endpoints.where;
  }

  private get hasCredentials(): boolean {
    return Boolean(this.access.token || this.login || this.basic);
  }

  /** The app with its tasks, deployments and last task failure; null when Marathon has none. */
  async app(id: string): Promise<AppInfo | null> {
    const reply = await this.call('GET', `/v2/apps${id}?embed=app.tasks&embed=app.deployments&embed=app.lastTaskFailure`);
    if (reply.status === 404) return null;
    this.expect(reply, 'GET', `/v2/apps${id}`);
    return reply.body.app as AppInfo;
  }

  /** Creates the app; false when it exists already (another gateway, or a race). */
  async create(app: MarathonApp): Promise<boolean> {
    const reply = await this.call('POST', '/v2/apps', app);
    if (reply.status === 409 && !reply.body?.deployments) return false;
    this.expect(reply, 'POST', '/v2/apps');
    for (const d of reply.body?.deployments ?? []) this.mine.add(d.id);
    return true;
  }

  async deployments(): Promise<Deployment[]> {
    const reply = await this.call('GET', '/v2/deployments');
    this.expect(reply, 'GET', '/v2/deployments');
    return reply.body as Deployment[];
  }

  /**
   * Sends a change to `appId` (a deployment in Marathon). While a deployment locks the
   * app (409), waits for it to finish and tries again with backoff, up to
   * deploymentTimeoutMs; with `force` configured, overrides the lock instead.
   * Resolves to the reply (404 included: the caller knows what is missing), or null when
   * the change was no longer needed.
   */
  async deploy(appId: string, change: Change): Promise<Reply | null> {
    const deadline = Date.now() + this.access.deploymentTimeoutMs;
    let force = false;
    for (let backoff = 250; ; backoff = Math.min(backoff * 2, 5_000)) {
      const next = await change();
      if (!next) return null;
      const path = force ? `${next.path}${next.path.includes('?') ? '&' : '?'}force=true` : next.path;
      const reply = await this.call(next.method, path, next.body);
      if (reply.status !== 409 || !Array.isArray(reply.body?.deployments)) {
        if (reply.status !== 404) this.expect(reply, next.method, next.path);
        if (typeof reply.body?.deploymentId === 'string') this.mine.add(reply.body.deploymentId);
        return reply;
      }
      const ids: string[] = reply.body.deployments.map((d: { id: string }) => d.id);
      // Our own deployment (a scale-up still waiting for offers) is ours to override: a
      // drain must not wait for instances that may never be placed.
      if (ids.every((id) => this.mine.has(id))) {
        this.log(`Marathon app ${appId} is locked by this gateway's own deployment ${ids.join(', ')}; overriding it (?force=true)`);
        force = true;
        continue;
      }
      if (this.access.force) {
        this.log(`Marathon app ${appId} is locked by deployment ${ids.join(', ')}; overriding it (?force=true, as configured)`);
        force = true;
        continue;
      }
      this.log(`Marathon app ${appId} is locked by deployment ${ids.join(', ')}; waiting for it`);
      await this.waitForDeployments(appId, ids, deadline);
      await sleep(Math.min(backoff, Math.max(0, deadline - Date.now())));
    }
  }

  /** Waits until none of `ids` is listed any more; a DromedarError after `deadline`. */
  async waitForDeployments(appId: string, ids: string[], deadline: number): Promise<void> {
    for (let pause = 250; ; pause = Math.min(pause * 2, 2_000)) {
      const running = (await this.deployments()).filter((d) => ids.includes(d.id));
      if (running.length === 0) return;
      if (Date.now() >= deadline) throw await this.stuck(appId, running);
      await sleep(Math.min(pause, Math.max(0, deadline - Date.now())));
    }
  }

  // A deployment that outlived our patience: name it, what it is doing, and why tasks fail.
  private async stuck(appId: string, running: Deployment[]): Promise<DromedarError> {
    const app = await this.app(appId).catch(() => null);
    const doing = running
      .map((d) => `${d.id} (step ${d.currentStep ?? '?'}/${d.totalSteps ?? '?'}: ${(d.currentActions ?? []).map((a) => `${a.action} ${a.app ?? ''}`.trim()).join(', ') || 'no action'})`)
      .join('; ');
    const failure = app?.lastTaskFailure ? `; last task failure: ${app.lastTaskFailure.state} ${app.lastTaskFailure.message}` : '';
    const waitedS = Math.round(this.access.deploymentTimeoutMs / 1000);
    return new DromedarError(
      'marathon_deployment_stuck',
      `Marathon app ${appId} has been locked by deployment ${doing} for more than ${waitedS} s${failure}. ` +
        `Fix or cancel it (DELETE ${this.where}/v2/deployments/${running[0]!.id}), or set scheduler.marathon.force to override it`,
      503,
    );
  }

  /** Kills one task; `scale` lowers the app's instances so Marathon does not replace it. False: no such task. */
  async killTask(appId: string, taskId: string, scale: boolean): Promise<boolean> {
    const reply = await this.deploy(appId, async () => ({ method: 'DELETE', path: `/v2/apps${appId}/tasks/${encodeURIComponent(taskId)}?scale=${scale}` }));
    return reply !== null && reply.status !== 404;
  }

  /** Any call, through the endpoints (leader, redirects, backoff); a 401 with a service account logs in again once. */
  async call(method: Dispatcher.HttpMethod, path: string, body?: unknown): Promise<Reply> {
    const reply = await this.endpoints.call(method, path, body);
    if (reply.status === 401 && this.login) {
      this.login.invalidate();
      return this.endpoints.call(method, path, body);
    }
    return reply;
  }

  // Turns every status but 2xx (and the 404/409 the callers handle first) into a DromedarError.
  private expect(reply: Reply, method: string, path: string): void {
    if (reply.status >= 200 && reply.status < 300) return;
    const what = `${method} ${path.split('?')[0]}`;
    const message = summary(reply.body);
    if (reply.status === 401) {
      const hint = this.hasCredentials
        ? 'check scheduler.marathon.user/password (MARATHON_USER, MARATHON_PASSWORD) or token (MARATHON_TOKEN)'
        : 'no credentials are configured: set scheduler.marathon.user/password (MARATHON_USER, MARATHON_PASSWORD) or token (MARATHON_TOKEN)';
      throw new DromedarError('marathon_unauthorized', `Marathon at ${this.where} rejected the credentials for ${what} (401 ${message}); ${hint}`, 502);
    }
    if (reply.status === 403) {
      const who = this.access.token ? 'the configured token' : this.login ? `service account ${this.access.serviceAccount!.uid}` : `user ${this.access.user ?? '(from the URL)'}`;
      throw new DromedarError('marathon_forbidden', `Marathon at ${this.where} does not allow ${who} to ${what} (403 ${message}); grant it access to the app`, 502);
    }
    if (reply.status === 400 || reply.status === 422) {
      const details = Array.isArray(reply.body?.details)
        ? (reply.body.details as { path?: string; errors?: string[] }[]).map((d) => `${d.path ?? '/'}: ${(d.errors ?? []).join(', ')}`).join('; ')
        : '';
      throw new DromedarError('marathon_invalid_app', `Marathon rejected ${what} (${reply.status} ${message})${details ? `: ${details}` : ''}; check scheduler.marathon in the configuration`, 502);
    }
    if (reply.status === 409) {
      throw new DromedarError('marathon_conflict', `Marathon at ${this.where} refused ${what} (409 ${message}); another change holds the app: see GET ${this.where}/v2/deployments`, 502);
    }
    throw new DromedarError('marathon_error', `Marathon at ${this.where} answered ${reply.status} to ${what}: ${message}; see Marathon's log for the cause`, 502);
  }
}
