// Marathon's event stream (GET /v2/events, server-sent events), so the scheduler reads the
// app when something happened to it instead of polling it. The stream says only "look
// again": every event about the app invalidates the cached view; a dropped stream is
// reconnected with exponential backoff, and while it is down the scheduler polls (slowly).
import type { Dispatcher } from 'undici';
import { describe } from '../../util/errors.js';
import type { MarathonEndpoints } from './leader.js';

// What can change the Drillbits app's tasks, health or deployments.
const TYPES = [
  'event_stream_attached',
  'status_update_event',
  'instance_changed_event',
  'health_status_changed_event',
  'instance_health_changed_event',
  'failed_health_check_event',
  'unhealthy_instance_kill_event',
  'unhealthy_task_kill_event',
  'deployment_info',
  'deployment_success',
  'deployment_failed',
  'deployment_step_success',
  'deployment_step_failure',
  'api_post_event',
  'app_terminated_event',
];
const BACKOFF_START_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;

export interface EventsOptions {
  appId: string;
  /** Something happened to the app (or the stream (re)attached: anything may have been missed). */
  onChange: () => void;
  log: (line: string) => void;
}

export class MarathonEvents {
  /** True while the stream is attached: the cached view is kept until an event says otherwise. */
  connected = false;
  private stopped = false;
  private abort: AbortController | null = null;
  private running: Promise<void> | null = null;
  private loggedDown = false;

  constructor(
    private readonly endpoints: MarathonEndpoints,
    private readonly options: EventsOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.stopped = false;
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    await this.running?.catch(() => {});
    this.running = null;
  }

  private async loop(): Promise<void> {
    let backoff = BACKOFF_START_MS;
    while (!this.stopped) {
      const attachedAt = Date.now();
      try {
        await this.attach();
        if (!this.stopped) this.down('Marathon closed its event stream');
      } catch (err) {
        if (!this.stopped) this.down(`Marathon's event stream failed: ${describe(err)}`);
      }
      const wasConnected = this.connected;
      this.connected = false;
      if (this.stopped) break;
      // Events may have been missed while the stream broke: read the app once. A reconnect
      // that fails again changes nothing the polling does not already cover.
      if (wasConnected) this.options.onChange();
      // The leader may have changed: ask before reconnecting.
      await this.endpoints.discoverLeader().catch(() => null);
      // A stream that held for a while starts the backoff over.
      if (Date.now() - attachedAt > 60_000) backoff = BACKOFF_START_MS;
      await this.pause(backoff * (0.75 + Math.random() / 2));
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    }
  }

  private async attach(): Promise<void> {
    this.abort = new AbortController();
    const query = TYPES.map((t) => `event_type=${t}`).join('&');
    const res: Dispatcher.ResponseData = await this.endpoints.stream(`/v2/events?${query}`, this.abort.signal);
    if (res.statusCode !== 200) {
      const text = (await res.body.text()).slice(0, 200);
      throw new Error(`GET /v2/events answered ${res.statusCode} ${text.replace(/\s+/g, ' ')}`);
    }
    let buffer = '';
    for await (const chunk of res.body) {
      buffer += (chunk as Buffer).toString('utf8').replace(/\r\n/g, '\n');
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        this.dispatch(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
  }

  private dispatch(block: string): void {
    let type = 'message';
    let data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) type = line.slice(6).trim();
      else if (line.startsWith('data:')) data += line.slice(5).trim();
    }
    if (type === 'event_stream_attached') {
      this.connected = true;
      if (this.loggedDown) this.options.log(`Marathon's event stream is back at ${this.endpoints.where}; polling stops`);
      this.loggedDown = false;
      this.options.onChange();
      return;
    }
    let event: Record<string, any> = {};
    try {
      event = data ? JSON.parse(data) : {};
    } catch {
      /* a malformed event: read the app anyway */
    }
    if (concerns(event, this.options.appId)) this.options.onChange();
  }

  private down(why: string): void {
    if (this.loggedDown) return;
    this.loggedDown = true;
    this.options.log(`${why}; polling the app at a low rate until it is back`);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
      this.abort?.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** Whether an event is about `appId` (unknown shapes count: better one read too many). */
function concerns(event: Record<string, any>, appId: string): boolean {
  if (typeof event.appId === 'string') return event.appId === appId;
  const plan = event.plan;
  if (plan && Array.isArray(plan.steps)) return JSON.stringify(plan.steps).includes(`"${appId}"`);
  if (event.appDefinition?.id) return event.appDefinition.id === appId;
  return true;
}
