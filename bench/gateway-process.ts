// A gateway in a process of its own, so its memory and CPU are measured alone:
//   node dist/bench/gateway-process.js '<config overrides as JSON>'
// (or the overrides in DROMEDAR_BENCH_CONFIG). It starts Gateway with that
// configuration, prints `DROMEDAR_URL=<url>` on stdout (and, when forked, sends
// {type: 'ready', url, pid} over IPC), and logs as the gateway does by default
// (pino JSON lines on stdout, level from DROMEDAR_LOG_LEVEL, info by default).
// SIGTERM, SIGINT, an IPC {type: 'stop'} or the parent going away stop it: the
// Drillbits and ZooKeeper it started stop with it. IPC {type: 'profile-start'} and
// {type: 'profile-stop', file} take a CPU profile of the main thread in between
// (V8's sampling profiler through node:inspector), answered with 'profile-started'
// and 'profile-stopped'.
// DROMEDAR_BENCH_STATIC_DRILLBIT='{"host": ..., "httpPort": ..., "probe": true}' gives the
// gateway a scheduler with that one, already running Drillbit instead of its own: for
// what-if measurements against the same Drillbit ("probe": each list() asks the
// Drillbit's /cluster.json, as the local scheduler does; false: answers from memory).
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { installExitGuard } from '../src/cli/up.js';
import { loadConfig } from '../src/config/load.js';
import { DrillClient } from '../src/drill/client.js';
import type { Drillbit, Scheduler } from '../src/schedulers/scheduler.js';
import { Gateway } from '../src/server/gateway.js';

const raw = process.argv[2] ?? process.env.DROMEDAR_BENCH_CONFIG ?? '{}';
const overrides = JSON.parse(raw) as Record<string, unknown>;
const config = loadConfig({ env: {}, overrides });
const staticBit = process.env.DROMEDAR_BENCH_STATIC_DRILLBIT ? (JSON.parse(process.env.DROMEDAR_BENCH_STATIC_DRILLBIT) as { host: string; httpPort: number; probe: boolean }) : null;
const gateway = await Gateway.start(config, staticBit ? { scheduler: staticScheduler(staticBit) } : {});
installExitGuard(gateway);
process.stdout.write(`DROMEDAR_URL=${gateway.url}\n`);
process.send?.({ type: 'ready', url: gateway.url, pid: process.pid });

let stopping = false;
async function stop(stopDrillbits = true): Promise<void> {
  if (stopping) return;
  stopping = true;
  try {
    await gateway.stop({ drainMs: 2_000, stopDrillbits });
  } finally {
    process.send?.({ type: 'stopped' });
    process.exit(0);
  }
}

process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.on('disconnect', () => void stop());
let session: Session | null = null;
process.on('message', (message: { type?: string; stopDrillbits?: boolean; file?: string }) => {
  if (message?.type === 'stop') void stop(message.stopDrillbits ?? true);
  if (message?.type === 'profile-start') void profileStart();
  if (message?.type === 'profile-stop' && message.file) void profileStop(message.file);
});

async function profileStart(): Promise<void> {
  session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 1000 });
  await session.post('Profiler.start');
  process.send?.({ type: 'profile-started' });
}

async function profileStop(file: string): Promise<void> {
  const { profile } = await session!.post('Profiler.stop');
  await writeFile(file, JSON.stringify(profile));
  session!.disconnect();
  session = null;
  process.send?.({ type: 'profile-stopped', file });
}

function staticScheduler(bit: { host: string; httpPort: number; probe: boolean }): Scheduler {
  const drillbit: Drillbit = { id: 'static-1', host: bit.host, userPort: 0, controlPort: 0, dataPort: 0, httpPort: bit.httpPort, state: 'ONLINE', startedAt: Date.now() };
  const drill = new DrillClient(`http://${bit.host}:${bit.httpPort}`, 2_000);
  return {
    kind: 'static',
    capacity: 1,
    start: async () => {},
    list: async () => {
      if (bit.probe) await drill.cluster().catch(() => null);
      return [drillbit];
    },
    launch: async () => {},
    stop: async () => {},
  };
}
