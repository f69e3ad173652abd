// Runs in a worker thread: node-sql-parser backtracks exponentially on some
// inputs (SELECT ((((((((((((1 + takes 3 s; each extra parenthesis roughly
// doubles that), so a parse must be stoppable without stopping the gateway.
import { parentPort } from 'node:worker_threads';
import { readReferences } from './references.js';

parentPort?.on('message', (sql: string) => {
  parentPort?.postMessage(readReferences(sql));
});
