// The worker threads that scan (scan-worker.ts), shared by every Sizer of the
// process like libuv's thread pool is: up to MAX_WORKERS, started on demand (or
// ahead with warm()), each running one job at a time. Jobs wait in one queue per
// request (sizingScope), served round-robin: a request with 8,000 globs to scan
// takes one turn in each round, so another request's one scan waits behind at most
// one job of each other request, not behind all of them (issue 11 item 5). An idle
// worker does not keep the process alive, one with a job does.
import { AsyncLocalStorage } from 'node:async_hooks';
import { Worker } from 'node:worker_threads';
import { DromedarError } from '../util/errors.js';
import type { FooterResult } from './footer.js';
import { OutsideError, type Scan } from './scan.js';

// Two: a second scan (or signature check) need not wait behind a long one.
const MAX_WORKERS = 2;

export type WorkerRequest =
  | { id: number; kind: 'scan'; pattern: string; roots: string[] | null; slowStatUs?: number }
  | { id: number; kind: 'check'; paths: string[] }
  | { id: number; kind: 'footers'; paths: string[] };

export type WorkerReply =
  | { id: number; kind: 'scan'; scan: Scan }
  | { id: number; kind: 'check'; signatures: Array<string | null> }
  | { id: number; kind: 'footers'; footers: FooterResult[] }
  | { id: number; kind: 'outside'; path: string }
  | { id: number; kind: 'error'; code: string; message: string; status: number };

type Request = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** The request a scan is for: Sizer.plan runs in its own scope. */
export const sizingScope = new AsyncLocalStorage<object>();
const SHARED = {};

interface Job {
  owner: object;
  request: Request;
  resolve: (reply: WorkerReply) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  job: Job | null;
}

export class ScanWorkers {
  private readonly slots: Slot[] = [];
  /** Waiting jobs by request, in the round-robin order of the requests. */
  private readonly queues = new Map<object, Job[]>();
  private nextId = 1;

  /** `onDispatch` sees each job as it goes to a worker (tests: the order is the fairness). */
  constructor(
    private readonly maxWorkers = MAX_WORKERS,
    private readonly onDispatch?: (request: Request, owner: object) => void,
  ) {}

  /** Starts a worker if none runs, so that the first scan need not wait for one. */
  warm(): void {
    if (this.slots.length === 0) this.start();
  }

  async scan(pattern: string, roots: string[] | null, slowStatUs?: number): Promise<Scan> {
    const reply = await this.run({ kind: 'scan', pattern, roots, ...(slowStatUs === undefined ? {} : { slowStatUs }) });
    if (reply.kind === 'scan') return reply.scan;
    throw this.failure(reply);
  }

  async signatures(paths: string[]): Promise<Array<string | null>> {
    const reply = await this.run({ kind: 'check', paths });
    if (reply.kind === 'check') return reply.signatures;
    throw this.failure(reply);
  }

  /** Parquet footers (footer.ts), read in the worker; each failure is a result, not an error. */
  async footers(paths: string[]): Promise<FooterResult[]> {
    const reply = await this.run({ kind: 'footers', paths });
    if (reply.kind === 'footers') return reply.footers;
    throw this.failure(reply);
  }

  private failure(reply: WorkerReply): Error {
    if (reply.kind === 'outside') return new OutsideError(reply.path);
    if (reply.kind === 'error') return new DromedarError(reply.code, reply.message, reply.status);
    return new DromedarError('sizing_failed', `unexpected reply from the scan worker: ${reply.kind}`, 500);
  }

  /** Jobs waiting (not yet with a worker), all requests together. */
  get waiting(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  private run(request: Request): Promise<WorkerReply> {
    const owner = sizingScope.getStore() ?? SHARED;
    return new Promise((resolve, reject) => {
      const queue = this.queues.get(owner);
      if (queue) queue.push({ owner, request, resolve, reject });
      else this.queues.set(owner, [{ owner, request, resolve, reject }]);
      this.dispatch();
    });
  }

  // The next job round-robin: the first request's first job, and that request goes to
  // the back of the line (Map order is insertion order).
  private take(): Job | null {
    for (const [owner, queue] of this.queues) {
      const job = queue.shift()!;
      this.queues.delete(owner);
      if (queue.length > 0) this.queues.set(owner, queue);
      return job;
    }
    return null;
  }

  private dispatch(): void {
    while (this.queues.size > 0) {
      const slot = this.slots.find((s) => s.job === null) ?? (this.slots.length < this.maxWorkers ? this.start() : null);
      if (!slot) return;
      const job = this.take()!;
      this.onDispatch?.(job.request, job.owner);
      slot.job = job;
      slot.worker.ref();
      slot.worker.postMessage({ ...job.request, id: this.nextId++ });
    }
  }

  private start(): Slot {
    const worker = new Worker(new URL('./scan-worker.js', import.meta.url));
    const slot: Slot = { worker, job: null };
    worker.on('message', (reply: WorkerReply) => {
      const job = slot.job;
      if (!job) return;
      slot.job = null;
      worker.unref();
      job.resolve(reply);
      this.dispatch();
    });
    worker.on('error', (err) => this.lose(slot, err));
    worker.on('exit', (code) => this.lose(slot, new Error(`the scan worker exited with code ${code}`)));
    // An idle worker must not keep the process alive (after the listeners: a
    // 'message' listener refs the worker again).
    worker.unref();
    this.slots.push(slot);
    return slot;
  }

  // A worker that failed or exited is replaced on demand; its job fails.
  private lose(slot: Slot, err: Error): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    void slot.worker.terminate();
    const job = slot.job;
    slot.job = null;
    job?.reject(new DromedarError('sizing_failed', `listing files failed: ${err.message}`, 500));
    this.dispatch();
  }
}

/** The process's scan workers. */
export const scanWorkers = new ScanWorkers();
