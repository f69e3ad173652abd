// Runs in a worker thread (workers.ts): scans, signature checks and Parquet footer
// reads with synchronous file system calls, off the gateway's event loop. One job at a time.
import { parentPort } from 'node:worker_threads';
import { DromedarError } from '../util/errors.js';
import { readFooter } from './footer.js';
import { OutsideError, scan, signaturesOf } from './scan.js';
import type { WorkerReply, WorkerRequest } from './workers.js';

parentPort?.on('message', (request: WorkerRequest) => {
  void handle(request).then(
    (reply) => parentPort?.postMessage(reply, reply.kind === 'scan' ? [reply.scan.listing.sizes.buffer as ArrayBuffer, reply.scan.listing.stamps.buffer as ArrayBuffer] : []),
    (err: unknown) => parentPort?.postMessage(failure(request.id, err)),
  );
});

async function handle(request: WorkerRequest): Promise<WorkerReply> {
  if (request.kind === 'check') return { id: request.id, kind: 'check', signatures: signaturesOf(request.paths) };
  if (request.kind === 'footers') return { id: request.id, kind: 'footers', footers: request.paths.map(readFooter) };
  const options = { roots: request.roots, ...(request.slowStatUs === undefined ? {} : { slowStatUs: request.slowStatUs }) };
  return { id: request.id, kind: 'scan', scan: await scan(request.pattern, options) };
}

function failure(id: number, err: unknown): WorkerReply {
  if (err instanceof OutsideError) return { id, kind: 'outside', path: err.path };
  if (err instanceof DromedarError) return { id, kind: 'error', code: err.code, message: err.message, status: err.status };
  return { id, kind: 'error', code: 'sizing_failed', message: `listing files failed: ${err instanceof Error ? err.message : String(err)}`, status: 500 };
}
