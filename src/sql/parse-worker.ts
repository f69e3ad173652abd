// Runs in a child process: node-sql-parser backtracks exponentially on some
// inputs (SELECT ((((((((((((1 + takes 3 s; each extra parenthesis roughly
// doubles that), so a parse must be stoppable without stopping the gateway. A process,
// not a worker thread: V8 can end the whole process when a worker thread reaches its
// heap limit in some allocations (seen with Node 20.20 on a backtracking parse), and a
// hostile text must never take the gateway down with it.
import { readReferences } from './references.js';

process.on('message', (sql: string) => {
  process.send?.(readReferences(sql));
});
// The parent went away: nothing is left to answer.
process.on('disconnect', () => process.exit(0));
