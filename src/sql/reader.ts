// Reads table references in a child process (the worker), one SQL text at a time,
// each with a deadline. A parse past its deadline stops the worker (the only way to
// stop a synchronous parser) and the query gets the token fallback instead:
// slower parses cost that one query its pruning, never the gateway a hang.
// The worker's heap is bounded too: node-sql-parser builds an AST several
// hundred times the size of its text (a 1 MiB column list grows the process by
// 300+ MiB), so a text that needs more than the bound ends the worker (V8's heap-limit
// abort, in its own process), gets the fallback, and a new worker takes over.
// Readings are cached by exact SQL text: a repeated query never crosses to
// the worker again.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LRUCache } from 'lru-cache';
import { fallbackReading } from './references.js';
import type { SqlReading } from './types.js';

export const DEFAULT_PARSE_DEADLINE_MS = 3_000;

/**
 * The parse worker's memory. Generous for real SQL (a 280 KB IN list of 50k values,
 * 3,000 UNION ALL branches parse within it) and a fraction of what a hostile 1 MiB
 * text takes: it runs out in 1-2 s having grown the gateway by ~75 MiB, where the
 * unbounded worker grew it by ~180 MiB until the deadline (and 300+ MiB beyond).
 */
export const PARSE_WORKER_LIMITS: ParseWorkerLimits = { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 8 };

/** The worker process's V8 heap: old generation and young generation, in MiB. */
export interface ParseWorkerLimits {
  maxOldGenerationSizeMb: number;
  maxYoungGenerationSizeMb?: number;
}

export const DEFAULT_CACHE_ENTRIES = 500;
/** Counted as 2 bytes per character of the text plus the references. */
export const DEFAULT_CACHE_BYTES = 16 * 2 ** 20;

export interface SqlReaderOptions {
  /** Covers waiting in the queue as well as parsing. */
  deadlineMs?: number;
  /** The worker's resourceLimits; default PARSE_WORKER_LIMITS. */
  resourceLimits?: ParseWorkerLimits;
  /** Readings cached by text; 0 turns the cache off. */
  cacheEntries?: number;
  cacheBytes?: number;
}

export interface SqlReaderStats {
  /** Readings served from the cache. */
  cached: number;
  /** Texts sent to the worker (warm-ups included). */
  parsed: number;
  /** Fallbacks because the deadline passed (in the queue or in the worker). */
  deadline: number;
  /** Fallbacks because the worker ran out of memory. */
  outOfMemory: number;
  /** Fallbacks because the worker died otherwise. */
  crashed: number;
  workersStarted: number;
}

interface Job {
  sql: string;
  /** Whether the reading may come from and go to the cache (not for warm-ups). */
  cacheable: boolean;
  resolve: (reading: SqlReading) => void;
  timer: NodeJS.Timeout;
  done: boolean;
}

export class SqlReader {
  private worker: ChildProcess | null = null;
  private current: Job | null = null;
  private readonly queue: Job[] = [];
  private readonly deadlineMs: number;
  private readonly resourceLimits: ParseWorkerLimits;
  private readonly cache: LRUCache<string, SqlReading> | null;
  private readonly counters: SqlReaderStats = { cached: 0, parsed: 0, deadline: 0, outOfMemory: 0, crashed: 0, workersStarted: 0 };

  /** A number is the deadline in milliseconds (see SqlReaderOptions.deadlineMs). */
  constructor(options: number | SqlReaderOptions = {}) {
    const o = typeof options === 'number' ? { deadlineMs: options } : options;
    this.deadlineMs = o.deadlineMs ?? DEFAULT_PARSE_DEADLINE_MS;
    this.resourceLimits = o.resourceLimits ?? PARSE_WORKER_LIMITS;
    const entries = o.cacheEntries ?? DEFAULT_CACHE_ENTRIES;
    const bytes = o.cacheBytes ?? DEFAULT_CACHE_BYTES;
    this.cache =
      entries > 0 && bytes > 0
        ? new LRUCache<string, SqlReading>({ max: entries, maxSize: bytes, maxEntrySize: Math.max(1, Math.floor(bytes / 4)), sizeCalculation: readingSize })
        : null;
  }

  /** The references of one SQL text. Never rejects: failures give the token fallback (parsed: false). */
  read(sql: string): Promise<SqlReading> {
    const hit = this.cache?.get(sql);
    if (hit) {
      this.counters.cached++;
      return Promise.resolve(hit);
    }
    return this.enqueue(sql, true);
  }

  /**
   * Starts the worker and has it parse `SELECT 1` (loading the parser), so the first
   * real query does not pay for either. Resolves when done; never rejects.
   */
  async warm(): Promise<void> {
    await this.enqueue('SELECT 1', false);
  }

  stats(): SqlReaderStats {
    return { ...this.counters };
  }

  /** Stops the worker; reads in progress get the fallback, later reads start a new worker. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    const pending = [...(this.current ? [this.current] : []), ...this.queue.splice(0)];
    this.current = null;
    for (const job of pending) this.settle(job, fallbackReading(job.sql));
    if (worker) await stopProcess(worker);
  }

  private enqueue(sql: string, cacheable: boolean): Promise<SqlReading> {
    return new Promise((resolve) => {
      const job: Job = { sql, cacheable, resolve, done: false, timer: setTimeout(() => this.expire(job), this.deadlineMs) };
      this.queue.push(job);
      this.next();
    });
  }

  private next(): void {
    while (!this.current) {
      const job = this.queue.shift();
      if (!job) return;
      // The same text may have been read while this one waited.
      const hit = job.cacheable ? this.cache?.get(job.sql) : undefined;
      if (hit) {
        this.counters.cached++;
        this.settle(job, hit);
        continue;
      }
      this.current = job;
      this.counters.parsed++;
      this.ensureWorker().send(job.sql);
    }
  }

  private ensureWorker(): ChildProcess {
    if (this.worker) return this.worker;
    const { maxOldGenerationSizeMb: old, maxYoungGenerationSizeMb: young } = this.resourceLimits;
    const execArgv = [`--max-old-space-size=${old}`, ...(young ? [`--max-semi-space-size=${Math.max(1, Math.floor(young / 2))}`] : [])];
    // stderr is read only for V8's heap-limit message; stdout is nobody's.
    const worker = fork(fileURLToPath(new URL('./parse-worker.js', import.meta.url)), [], { execArgv, serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.counters.workersStarted++;
    let stderr = '';
    worker.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4096)));
    // A stopped worker's last message must not answer the next job.
    worker.on('message', (reading: SqlReading) => {
      if (worker === this.worker && this.current) this.finish(this.current, reading, true);
    });
    worker.on('error', () => this.abandon(worker, 'crashed'));
    worker.on('exit', () => this.abandon(worker, /heap limit|out of memory/i.test(stderr) ? 'outOfMemory' : 'crashed'));
    // Pending reads keep the process alive through their timers, an idle worker must not.
    worker.unref();
    worker.channel?.unref();
    (worker.stderr as unknown as { unref?: () => void } | null)?.unref?.();
    this.worker = worker;
    return worker;
  }

  // The worker died (out of memory, error, exit) during a job: the job gets the fallback
  // and a new worker starts at once, so the next query finds it ready. Running out of memory is
  // a property of the text, so that fallback is cached: sending the text again does
  // not cost another worker.
  private abandon(worker: ChildProcess, why: 'outOfMemory' | 'crashed'): void {
    if (this.worker !== worker) return;
    this.worker = null;
    const job = this.current;
    if (!job) return; // died idle: the next read starts a worker (no restart loop)
    this.counters[why]++;
    this.finish(job, fallbackReading(job.sql), why === 'outOfMemory');
    this.ensureWorker();
  }

  private expire(job: Job): void {
    if (job.done) return;
    this.counters.deadline++;
    if (job === this.current) {
      const worker = this.worker;
      this.worker = null;
      if (worker) void stopProcess(worker);
      // Not cached: a busy machine, not the text, may have made it late.
      this.finish(job, fallbackReading(job.sql), false);
      this.ensureWorker();
    } else {
      this.queue.splice(this.queue.indexOf(job), 1);
      this.settle(job, fallbackReading(job.sql));
    }
  }

  private finish(job: Job, reading: SqlReading, cache: boolean): void {
    if (job.done) return;
    if (cache && job.cacheable && this.cache) {
      reading = freeze(reading);
      this.cache.set(job.sql, reading);
    }
    this.settle(job, reading);
    if (this.current === job) this.current = null;
    this.next();
  }

  private settle(job: Job, reading: SqlReading): void {
    if (job.done) return;
    job.done = true;
    clearTimeout(job.timer);
    job.resolve(reading);
  }
}

/** Kills a worker process and resolves once it is gone. */
function stopProcess(worker: ChildProcess): Promise<void> {
  if (worker.exitCode !== null || worker.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    worker.once('exit', () => resolve());
    // Waited for: the exit must keep the process alive until it comes.
    worker.ref();
    worker.kill('SIGKILL');
  });
}

function readingSize(reading: SqlReading, sql: string): number {
  return 2 * sql.length + 64 + footprint(reading.refs) + footprint(reading.output);
}

// Bytes a value of plain objects, arrays, strings and numbers takes, roughly.
function footprint(value: unknown): number {
  if (typeof value === 'string') return 16 + 2 * value.length;
  if (Array.isArray(value)) return value.reduce<number>((n, v) => n + 8 + footprint(v), 32);
  if (typeof value === 'object' && value !== null) return Object.values(value).reduce<number>((n, v) => n + 16 + footprint(v), 32);
  return 8;
}

// A cached reading is shared by every query with the same text: nobody may change it.
function freeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) freeze(v);
    Object.freeze(value);
  }
  return value;
}
