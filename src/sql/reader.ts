// Reads table references off the main thread, one SQL text at a time, each
// with a deadline. A parse past its deadline stops the worker (the only way to
// stop a synchronous parser) and the query gets the token fallback instead:
// slower parses cost that one query its pruning, never the gateway a hang.
import { Worker } from 'node:worker_threads';
import { fallbackReading } from './references.js';
import type { SqlReading } from './types.js';

export const DEFAULT_PARSE_DEADLINE_MS = 3_000;

interface Job {
  sql: string;
  resolve: (reading: SqlReading) => void;
  timer: NodeJS.Timeout;
  done: boolean;
}

export class SqlReader {
  private worker: Worker | null = null;
  private current: Job | null = null;
  private readonly queue: Job[] = [];

  /** deadlineMs covers waiting in the queue as well as parsing. */
  constructor(private readonly deadlineMs = DEFAULT_PARSE_DEADLINE_MS) {}

  read(sql: string): Promise<SqlReading> {
    return new Promise((resolve) => {
      const job: Job = { sql, resolve, done: false, timer: setTimeout(() => this.expire(job), this.deadlineMs) };
      this.queue.push(job);
      this.next();
    });
  }

  /** Stops the worker; reads in progress get the fallback, later reads start a new worker. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    const pending = [...(this.current ? [this.current] : []), ...this.queue.splice(0)];
    for (const job of pending) this.finish(job, fallbackReading(job.sql));
    await worker?.terminate();
  }

  private next(): void {
    if (this.current) return;
    const job = this.queue.shift();
    if (!job) return;
    this.current = job;
    this.ensureWorker().postMessage(job.sql);
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./parse-worker.js', import.meta.url));
    // A stopped worker's last message must not answer the next job.
    worker.on('message', (reading: SqlReading) => {
      if (worker === this.worker && this.current) this.finish(this.current, reading);
    });
    worker.on('error', () => this.abandon(worker));
    worker.on('exit', () => this.abandon(worker));
    // Pending reads keep the process alive through their timers, an idle worker must not.
    // (After the listeners: a 'message' listener refs the worker again.)
    worker.unref();
    this.worker = worker;
    return worker;
  }

  // The worker died (error, exit, stopped): its job gets the fallback.
  private abandon(worker: Worker): void {
    if (this.worker !== worker) return;
    this.worker = null;
    if (this.current) this.finish(this.current, fallbackReading(this.current.sql));
  }

  private expire(job: Job): void {
    if (job === this.current) {
      const worker = this.worker;
      this.worker = null;
      void worker?.terminate();
    } else {
      this.queue.splice(this.queue.indexOf(job), 1);
    }
    this.finish(job, fallbackReading(job.sql));
  }

  private finish(job: Job, reading: SqlReading): void {
    if (job.done) return;
    job.done = true;
    clearTimeout(job.timer);
    if (this.current === job) this.current = null;
    job.resolve(reading);
    this.next();
  }
}
