// The one place where what happens in the gateway becomes numbers: Prometheus metrics
// (prom-client, a registry of its own, not the process-global one) and the history the
// dashboard draws. Sources are observed, never instrumented inline: the pool is sampled
// (snapshot(), once a second and at every scrape), the scheduler is wrapped (errors),
// and queries arrive as one observation each when they end (observeQuery). Labels are
// low-cardinality codes only: no SQL, no ids, no free text.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PoolManager, ScaleEvent } from '../pool/pool.js';
import type { Drillbit, Scheduler } from '../schedulers/scheduler.js';

export type Outcome = 'finished' | 'failed' | 'cancelled' | 'refused';

/** One query, as it ended. Times in seconds; absent when the query never got there. */
export interface QueryObservation {
  /** Which front end took it: `query` (POST /query), `drill` (POST /query.json), `trino`, ... */
  frontEnd: string;
  outcome: Outcome;
  /** The HTTP status answered (refusals are counted by it). */
  status: number;
  sizingSeconds?: number;
  /** Waiting for Drillbits; `cold`: it had to wait for one to start. */
  waitSeconds?: number;
  cold?: boolean;
  firstByteSeconds?: number;
  bytesEstimated?: number;
  /** What Drill reports reading (from the query's profile), when known. */
  bytesRead?: number;
}

/** Why the pool changed size, as a code (the event's text stays in /v1/cluster and the log). */
export type ScaleReason = 'demand' | 'minimum' | 'idle' | 'failure' | 'replaced' | 'other';

export interface Sample {
  /** ms since epoch. */
  at: number;
  desired: number;
  starting: number;
  online: number;
  draining: number;
}

export interface TimelineEvent extends ScaleEvent {
  code: ScaleReason;
}

export interface Watched {
  pool: PoolManager;
  /** Counters of the sizing caches (see Sizer.cacheStats). */
  sizing?: () => { listingHits: number; listingMisses: number; footersRead: number };
}

export interface MetricsOptions {
  /** ms since epoch (tests move it). */
  now?: () => number;
  /** Timeline resolution and length (default: 1 s, one hour). */
  sampleMs?: number;
  historyMs?: number;
}

const PREFIX = 'dromedar_';
const LIVE: readonly Drillbit['state'][] = ['STARTING', 'ONLINE', 'DRAINING'];
// Seconds buckets from a warm query (milliseconds) to a Drillbit started cold (tens of seconds).
const TIME_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120];

/** The pool's reason text as a code: one rule, here, for every metric and chart. */
export function reasonCode(event: ScaleEvent & { code?: string }): ScaleReason {
  if (event.code && ['demand', 'minimum', 'idle', 'failure', 'replaced'].includes(event.code)) return event.code as ScaleReason;
  const text = event.reason;
  // "replacing bit-1 (demand for 1 Drillbit(s))": the replacement, not new demand.
  if (/^replacing\b/i.test(text)) return 'replaced';
  if (/^demand\b/i.test(text)) return 'demand';
  if (/^pool\.minDrillbits\b/.test(text)) return 'minimum';
  if (/^idle\b/i.test(text)) return 'idle';
  if (/\bfailed\b|\blost\b|left ONLINE|did not come ONLINE|\bexited\b|stopping it$/i.test(text)) return 'failure';
  return 'other';
}

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly now: () => number;
  private readonly sampleMs: number;
  private readonly historyMs: number;
  private readonly samples: Sample[] = [];
  private readonly timelineEvents: TimelineEvent[] = [];
  private readonly seenEvents = new Set<string>();
  private readonly lastSeen = new Map<string, number>();
  private readonly startedAt: number;
  private drillbitMs = 0;
  private schedulerUp = 1;
  private drillReachable: { at: number; value: number } | null = null;
  private timer: NodeJS.Timeout | null = null;

  private readonly queries: Counter<'front_end' | 'outcome' | 'status'>;
  private readonly scaleEvents: Counter<'reason' | 'direction'>;
  private readonly schedulerErrors: Counter<'operation'>;
  private readonly wait: Histogram<'start'>;
  private readonly firstByte: Histogram<'front_end'>;
  private readonly sizingTime: Histogram;
  private readonly bytesEstimated: Counter;
  private readonly bytesRead: Counter;

  private watched: Watched | null = null;

  constructor(options: MetricsOptions = {}) {
    this.now = options.now ?? Date.now;
    this.sampleMs = options.sampleMs ?? 1_000;
    this.historyMs = options.historyMs ?? 3_600_000;
    this.startedAt = this.now();
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
    this.queries = new Counter({
      name: `${PREFIX}queries_total`,
      help: 'Queries that ended, by front end (query, drill, trino), outcome (finished, failed, cancelled, refused) and HTTP status',
      labelNames: ['front_end', 'outcome', 'status'],
      registers,
    });
    this.scaleEvents = new Counter({
      name: `${PREFIX}scale_events_total`,
      help: 'Pool size changes, by reason (demand, minimum, idle, failure, replaced, other) and direction (up, down)',
      labelNames: ['reason', 'direction'],
      registers,
    });
    this.schedulerErrors = new Counter({
      name: `${PREFIX}scheduler_errors_total`,
      help: 'Scheduler calls that failed, by operation (list, scale, drain, remove, start, stop)',
      labelNames: ['operation'],
      registers,
    });
    this.wait = new Histogram({
      name: `${PREFIX}query_wait_seconds`,
      help: 'Time a query waited for its Drillbits; start="cold" when one had to be started, "warm" when they were there',
      labelNames: ['start'],
      buckets: TIME_BUCKETS,
      registers,
    });
    this.firstByte = new Histogram({
      name: `${PREFIX}query_first_byte_seconds`,
      help: "Time from a query's arrival to the first byte of its answer (sizing, waiting and Drill up to the first row)",
      labelNames: ['front_end'],
      buckets: TIME_BUCKETS,
      registers,
    });
    this.sizingTime = new Histogram({ name: `${PREFIX}query_sizing_seconds`, help: 'Time spent sizing a query (reading SQL and file metadata)', buckets: TIME_BUCKETS, registers });
    this.bytesEstimated = new Counter({ name: `${PREFIX}query_estimated_bytes_total`, help: 'Bytes the sizing estimated the queries read', registers });
    this.bytesRead = new Counter({ name: `${PREFIX}query_read_bytes_total`, help: "Bytes Drill reported reading (from query profiles), where known", registers });

    const self = this;
    const gauge = (name: string, help: string, value: () => number) =>
      new Gauge({
        name: `${PREFIX}${name}`,
        help,
        registers,
        collect() {
          this.set(value());
        },
      });
    gauge('queries_running', 'Queries running on a Drillbit now', () => self.snapshot().running);
    gauge('queries_waiting', 'Queries waiting for Drillbits now', () => self.snapshot().queued);
    gauge('drillbits_desired', 'The pool size the gateway is steering to', () => self.snapshot().desired);
    gauge('drillbits_max', 'The most Drillbits the pool may run (pool.maxDrillbits)', () => this.watched?.pool.maxDrillbits ?? 0);
    new Gauge({
      name: `${PREFIX}drillbits`,
      help: 'Drillbits by state (starting, online, draining, failed) as last observed',
      labelNames: ['state'],
      registers,
      collect() {
        self.tick();
        const counts = countStates(self.snapshot().drillbits);
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });
    new Counter({
      name: `${PREFIX}drillbit_seconds_total`,
      help: 'Drillbit-seconds consumed: the time each Drillbit ran (starting, online or draining), summed; the cost',
      registers,
      collect() {
        self.tick();
        this.reset();
        this.inc(self.drillbitMs / 1000);
      },
    });
    gauge('scheduler_up', '1 when the last call to the scheduler succeeded, 0 when it failed', () => this.schedulerUp);
    new Gauge({
      name: `${PREFIX}drill_reachable`,
      help: '1 when an ONLINE Drillbit answers HTTP, 0 when none does (also when none runs)',
      registers,
      async collect() {
        this.set(await self.probeDrill());
      },
    });
    {
      const sizing = () => this.watched?.sizing?.() ?? { listingHits: 0, listingMisses: 0, footersRead: 0 };
      const counter = (name: string, help: string, value: () => number) =>
        new Counter({
          name: `${PREFIX}${name}`,
          help,
          registers,
          collect() {
            this.reset();
            this.inc(value());
          },
        });
      counter('sizing_cache_hits_total', 'Sizings answered from the listing cache (files unchanged)', () => sizing().listingHits);
      counter('sizing_cache_misses_total', 'Sizings that listed the file system (not cached, or changed)', () => sizing().listingMisses);
      counter('sizing_footers_read_total', 'Parquet footers read from files (not from the footer cache)', () => sizing().footersRead);
    }
  }

  /** What to sample: the pool (and the sizing caches); the scheduler is seen through instrument(). */
  watch(watched: Watched): this {
    this.watched = watched;
    return this;
  }

  private snapshot(): ReturnType<PoolManager['snapshot']> {
    return this.watched?.pool.snapshot() ?? { desired: 0, drillbits: [], events: [], queued: 0, running: 0, warnings: [] };
  }

  /** Starts sampling the pool (once a second); the timer never keeps the process alive. */
  start(): this {
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.sampleMs);
      this.timer.unref();
    }
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The Prometheus text exposition. */
  async render(): Promise<{ contentType: string; body: string }> {
    // Bring the accounting up to now before any metric is read (collect order is registration order).
    this.tick();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  observeQuery(q: QueryObservation): void {
    this.queries.inc({ front_end: q.frontEnd, outcome: q.outcome, status: String(q.status) });
    if (q.sizingSeconds !== undefined) this.sizingTime.observe(q.sizingSeconds);
    if (q.waitSeconds !== undefined) this.wait.observe({ start: q.cold ? 'cold' : 'warm' }, q.waitSeconds);
    if (q.firstByteSeconds !== undefined) this.firstByte.observe({ front_end: q.frontEnd }, q.firstByteSeconds);
    if (q.bytesEstimated !== undefined && q.bytesEstimated > 0) this.bytesEstimated.inc(q.bytesEstimated);
    if (q.bytesRead !== undefined && q.bytesRead > 0) this.bytesRead.inc(q.bytesRead);
  }

  /** Bytes Drill reported reading for a query (its profile, read after the end). */
  readBytes(bytes: number): void {
    if (bytes > 0) this.bytesRead.inc(bytes);
  }

  /** The scheduler, with each failed call counted (and scheduler_up following the last call). */
  instrument(scheduler: Scheduler): Scheduler {
    const track = <T>(operation: string, call: () => Promise<T>): Promise<T> =>
      call().then(
        (value) => {
          this.schedulerUp = 1;
          return value;
        },
        (err: unknown) => {
          this.schedulerUp = 0;
          this.schedulerErrors.inc({ operation });
          throw err;
        },
      );
    // A proxy, not a copy: whatever the scheduler offers (launch, list, stop, repair, ...)
    // stays as it is, and each asynchronous call is counted by its method's name.
    return new Proxy(scheduler, {
      get: (target, property, receiver) => {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function' || typeof property !== 'string') return value;
        return (...args: unknown[]) => {
          const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
          return result instanceof Promise ? track(property, () => result) : result;
        };
      },
    });
  }

  /** Desired vs observed Drillbits over the last hour, the scale events, and what they cost. */
  timeline(): { samples: Sample[]; events: TimelineEvent[]; drillbitSeconds: { total: number; lastHour: number } } {
    this.tick();
    const hourAgo = this.now() - 3_600_000;
    let lastHourMs = 0;
    for (let i = 1; i < this.samples.length; i++) {
      const a = this.samples[i - 1]!;
      const b = this.samples[i]!;
      if (b.at <= hourAgo) continue;
      lastHourMs += (a.starting + a.online + a.draining) * (b.at - Math.max(a.at, hourAgo));
    }
    return { samples: [...this.samples], events: [...this.timelineEvents], drillbitSeconds: { total: this.drillbitMs / 1000, lastHour: lastHourMs / 1000 } };
  }

  // Integrate Drillbit time since the last tick (from each one's start, if later), count
  // scale events not seen before, and keep one sample per sampleMs for the timeline.
  private tick(): void {
    const now = this.now();
    const { desired, drillbits, events } = this.snapshot();
    for (const bit of drillbits) {
      if (!LIVE.includes(bit.state)) continue;
      // Adopted from an earlier gateway: counted from this gateway's start.
      const from = this.lastSeen.get(bit.id) ?? Math.max(bit.startedAt, this.startedAt);
      if (now > from) this.drillbitMs += now - from;
      this.lastSeen.set(bit.id, now);
    }
    // Gone (or failed) since the last tick: it ran until about now (one tick is the resolution).
    for (const [id, seen] of this.lastSeen) {
      if (drillbits.some((b) => b.id === id && LIVE.includes(b.state))) continue;
      this.drillbitMs += now - seen;
      this.lastSeen.delete(id);
    }
    for (const event of events) {
      const key = `${event.at}|${event.from}|${event.to}|${event.reason}`;
      if (this.seenEvents.has(key)) continue;
      this.seenEvents.add(key);
      const code = reasonCode(event);
      this.scaleEvents.inc({ reason: code, direction: event.to > event.from ? 'up' : 'down' });
      this.timelineEvents.push({ ...event, code });
    }
    const counts = countStates(drillbits);
    const sample: Sample = { at: now, desired, starting: counts.starting, online: counts.online, draining: counts.draining };
    const last = this.samples.at(-1);
    // A point per sampleMs, and one at every change (a step chart shows when it happened).
    if (last && now - last.at < this.sampleMs && !changed(last, sample)) return;
    this.samples.push(sample);
    while (this.samples.length > 0 && this.samples[0]!.at < now - this.historyMs) this.samples.shift();
    while (this.timelineEvents.length > 0 && Date.parse(this.timelineEvents[0]!.at) < now - this.historyMs) this.timelineEvents.shift();
    if (this.seenEvents.size > 1_000) this.seenEvents.clear(), events.forEach((e) => this.seenEvents.add(`${e.at}|${e.from}|${e.to}|${e.reason}`));
  }

  // Asks one ONLINE Drillbit's web server (bounded, cached 2 s): /metrics says whether
  // Drill answers, and keeps answering itself while it does not.
  private async probeDrill(): Promise<number> {
    const now = this.now();
    if (this.drillReachable && now - this.drillReachable.at < 2_000) return this.drillReachable.value;
    const bit = this.snapshot().drillbits.find((b) => b.state === 'ONLINE');
    let value = 0;
    if (bit) {
      try {
        const res = await fetch(`http://${bit.host}:${bit.httpPort}/status`, { signal: AbortSignal.timeout(1_000) });
        await res.arrayBuffer();
        value = res.ok ? 1 : 0;
      } catch {
        value = 0;
      }
    }
    this.drillReachable = { at: now, value };
    return value;
  }
}

function countStates(drillbits: readonly Drillbit[]): { starting: number; online: number; draining: number; failed: number } {
  const counts = { starting: 0, online: 0, draining: 0, failed: 0 };
  for (const bit of drillbits) counts[bit.state.toLowerCase() as keyof typeof counts]++;
  return counts;
}

function changed(a: Sample, b: Sample): boolean {
  return a.desired !== b.desired || a.starting !== b.starting || a.online !== b.online || a.draining !== b.draining;
}
