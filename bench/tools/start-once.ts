// Starts Drillbits directly, one after another, and prints each one's start-up timing, CPU
// by thread kind and (SHOWLOG=1) its log: a probe for tuning launch flags.
//   N=3 NOCDS=1 JVM_OPTS='-XX:+UseSerialGC' EXTRA_CONF='drill.exec.udf.disable_dynamic: true' node dist/bench/tools/start-once.js
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { resolveRuntime } from '../../src/drill/install.js';
import { DirectCluster } from '../lib/direct.js';
import { cpuSeconds, jvmThreadCpu } from '../lib/machine.js';

const home = mkdtempSync(join(tmpdir(), 'dromedar-probe-'));
const config = loadConfig({ env: {}, overrides: { home, dataDir: join(home, 'data'), drill: { installDir: process.env.DROMEDAR_DRILL_DIR ?? join(process.env.HOME ?? '/root', '.dromedar', 'drill-1.22.0') } } });
const runtime = await resolveRuntime(config);
const cluster = new DirectCluster(home, runtime, config);
await cluster.start();
const extra = process.env.EXTRA_CONF;
const jvm = (process.env.JVM_OPTS ?? '').split(' ').filter(Boolean);
const n = Number(process.env.N ?? 1);
try {
  for (let i = 0; i < n; i++) {
    const bit = await cluster.startBit({ jvmOptions: jvm, cds: process.env.NOCDS ? false : true, ...(extra ? { extraConf: extra } : {}) });
    console.log(JSON.stringify({ ...bit.timing, cpuS: cpuSeconds(bit.pid), threads: jvmThreadCpu(bit.pid), archive: bit.args.find((a) => a.startsWith('-XX:SharedArchiveFile=')) ?? null }));
    if (process.env.SHOWLOG) console.log(readFileSync(join(bit.dir, 'log', 'drillbit.log'), 'utf8'), readFileSync(join(bit.dir, 'log', 'stdout.log'), 'utf8'));
    await bit.stop();
  }
} finally {
  await cluster.stop();
  rmSync(home, { recursive: true, force: true });
}
