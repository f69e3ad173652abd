// `npm run soak` / `node dist/bench/soak.js [--clients 50] [--duration 10m] [--max-drillbits 3]
//   [--idle-timeout 60s] [--progress 30s] [--data-mib 150] [--out FILE] [--keep]`
//
// A long soak of a real gateway (its own process, bench/lib/gateway.ts) over real
// Drillbits: N clients, each sending one query after the other for the duration, a
// mix of small queries (one year of the trips dataset, sized for one Drillbit) and
// large ones (the whole dataset, sized for --max-drillbits), as the 30 s load test of
// test/reliability.test.ts does, for minutes. Progress lines every --progress; then a
// summary: queries, failures by error code, p50/p99 latency, max Drillbits seen, scale
// events, the gateway's RSS at start, peak and end, and the JVMs left after stop.
// Exit code 1 on any failed query, more Drillbits than the cap, a JVM or the gateway
// left running, or an error of the soak itself; 0 otherwise. Ctrl-C ends the load early
// (and still stops everything and prints the summary).
import { setMaxListeners } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/load.js';
import { resolveRuntime } from '../src/drill/install.js';
import { isAlive, sleep } from '../src/util/process.js';
import { BenchContext, DRILL_DIR, jvmsMentioning } from './lib/context.js';
import { MiB, qsfFor, trips } from './lib/data.js';
import type { ClusterView, GatewayProcess } from './lib/gateway.js';
import { timedPost } from './lib/http.js';
import { LoadWatch, memoryOf } from './lib/machine.js';
import { percentile, round } from './lib/stats.js';

export interface SoakArgs {
  clients: number;
  durationMs: number;
  maxDrillbits: number;
  idleTimeoutMs: number;
  progressMs: number;
  /** After the duration, how long queries in flight may take before they are cut off. */
  graceMs: number;
  dataMiB: number;
  out: string | null;
  keep: boolean;
}

const USAGE = `usage: node dist/bench/soak.js [--clients N=50] [--duration 10m] [--max-drillbits N=3]
  [--idle-timeout 60s] [--progress 30s] [--grace 5m] [--data-mib 150] [--out FILE.json] [--keep]
--grace: how long queries still running at the end may take before they are cut off (counted apart)
durations: 90, 90s, 2m, 1h, 1m30s (a bare number is seconds)`;

/** "90", "90s", "2m", "1m30s", "1h", "500ms" -> milliseconds. */
export function parseDuration(text: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  const rest = text.replace(/(\d+(?:\.\d+)?)(ms|s|m|h)/g, (_, n: string, unit: string) => {
    total += Number(n) * units[unit]!;
    return '';
  });
  if (rest !== '' || total <= 0) throw new Error(`not a duration: ${text}`);
  return total;
}

export function parseArgs(argv: string[]): SoakArgs {
  const args: SoakArgs = { clients: 50, durationMs: 600_000, maxDrillbits: 3, idleTimeoutMs: 60_000, progressMs: 30_000, graceMs: 300_000, dataMiB: 150, out: null, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    const count = (min: number) => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < min) throw new Error(`${flag} takes a whole number >= ${min}`);
      return n;
    };
    if (flag === '--clients') args.clients = count(1);
    else if (flag === '--duration') args.durationMs = parseDuration(value());
    else if (flag === '--max-drillbits') args.maxDrillbits = count(1);
    else if (flag === '--idle-timeout') args.idleTimeoutMs = parseDuration(value());
    else if (flag === '--progress') args.progressMs = parseDuration(value());
    else if (flag === '--grace') args.graceMs = parseDuration(value());
    else if (flag === '--data-mib') args.dataMiB = count(1);
    else if (flag === '--out') args.out = resolve(value());
    else if (flag === '--keep') args.keep = true;
    else if (flag === '--help' || flag === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else throw new Error(`unknown argument ${flag}\n${USAGE}`);
  }
  return args;
}

interface Outcome {
  at: number;
  ms: number;
  large: boolean;
  /** null: COMPLETED. */
  failure: string | null;
}

/** Messages kept per failure code (the first ones). */
const SAMPLES = 3;

/** What went wrong with one answer: a code (`503 queue_full`, `drill FAILED`, `network ECONNRESET`) and what it said. */
function failureOf(status: number, body: string): { code: string; message: string } | null {
  let json: { queryState?: string; error?: string; message?: string; errorMessage?: string } = {};
  try {
    json = JSON.parse(body) as typeof json;
  } catch {
    /* a cut stream: classified below */
  }
  if (status === 200 && json.queryState === 'COMPLETED') return null;
  const message = (json.message ?? json.errorMessage ?? body.slice(-200)).replace(/\s+/g, ' ').slice(0, 300);
  if (status === 200) return { code: `drill ${json.queryState ?? 'unparsable answer'}`, message };
  return { code: `${status} ${json.error ?? 'no error code'}`, message };
}

const mib = (bytes: number) => Math.round(bytes / MiB);
const clock = (ms: number) => `${String(Math.floor(ms / 60_000)).padStart(2, '0')}:${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}`;

function latency(outcomes: readonly Outcome[]): { p50: number | null; p99: number | null } {
  if (outcomes.length === 0) return { p50: null, p99: null };
  const sorted = outcomes.map((o) => o.ms).sort((a, b) => a - b);
  return { p50: Math.round(percentile(sorted, 0.5)), p99: Math.round(percentile(sorted, 0.99)) };
}

const msText = (v: number | null) => (v === null ? '-' : `${v} ms`);

export async function main(argv = process.argv.slice(2)): Promise<number> {
  const args = parseArgs(argv);
  const workDir = mkdtempSync(join(tmpdir(), 'dromedar-soak-'));
  const say = (line: string) => process.stdout.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  const runtime = await resolveRuntime(loadConfig({ env: {}, overrides: { home: workDir, drill: { installDir: DRILL_DIR } } }));
  const ctx = new BenchContext(false, workDir, workDir, runtime, say);
  const load = new LoadWatch(() => ctx.pids());
  const problems: string[] = [];
  let stopLoad = false;
  let sampling = true;
  let interrupts = 0;
  const cut = new AbortController();
  setMaxListeners(0, cut.signal); // one signal for every query in flight
  // Ctrl-C: end the load; again: cut off the queries in flight; a third time: leave at
  // once (the gateway process stops its JVMs when its parent goes away).
  const onSignal = () => {
    interrupts++;
    stopLoad = true;
    if (interrupts === 1) say('interrupted: ending the load, then stopping everything (Ctrl-C again cuts off the queries in flight)');
    else if (interrupts === 2) cut.abort();
    else process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let gateway: GatewayProcess | null = null;
  const outcomes: Outcome[] = [];
  const samples = new Map<string, string[]>();
  let inFlight = 0;
  let cutOff = 0;
  const events = new Map<string, ClusterView['events'][number]>();
  let maxSeen = 0;
  const rss = { start: 0, peak: 0, end: 0 };
  let jvmsLeft: number[] = [];
  let gatewayLeft = false;
  let started = Date.now();
  let endedAt = started;
  try {
    say(`${args.clients} clients for ${clock(args.durationMs)} (mm:ss), at most ${args.maxDrillbits} Drillbits, idle timeout ${args.idleTimeoutMs / 1000} s; work folder ${workDir}`);
    const data = await trips(ctx, 'trips', args.dataMiB * MiB);
    // Small: one year, one Drillbit. Large: everything, sized for the cap.
    const small = (i: number) => ({ sql: `SELECT COUNT(*) AS n FROM ${data.table} WHERE dir0 = '${2022 + (i % 4)}'`, qsf: 10_000 });
    const large = { sql: `SELECT city, COUNT(*) AS n, SUM(CAST(fare AS DOUBLE)) AS fare FROM ${data.table} GROUP BY city`, qsf: args.maxDrillbits === 1 ? 10_000 : round(qsfFor(data.bytes, args.maxDrillbits), 3) };
    gateway = await ctx.startGateway('soak', {
      pool: { minDrillbits: 0, maxDrillbits: args.maxDrillbits, idleTimeoutMs: args.idleTimeoutMs, queueTimeoutMs: 300_000, queueLimit: Math.max(100, 2 * args.clients) },
    });
    const pid = gateway.pid;
    rss.start = memoryOf(pid)?.rss ?? 0;
    rss.peak = rss.start;
    say(`gateway ${gateway.url} (pid ${pid}, RSS ${mib(rss.start)} MiB); data ${mib(data.bytes)} MiB; small queries ask 1 Drillbit, large ones ${args.maxDrillbits}`);

    started = Date.now();
    const deadline = started + args.durationMs;
    const running = () => !stopLoad && Date.now() < deadline;
    const sampler = (async () => {
      while (sampling) {
        const m = memoryOf(pid);
        if (m) rss.peak = Math.max(rss.peak, m.rss, m.hwm);
        try {
          const view = await gateway!.cluster();
          maxSeen = Math.max(maxSeen, view.drillbits.filter((b) => b.state !== 'FAILED').length);
          for (const e of view.events) events.set(`${e.at} ${e.from} ${e.to}`, e);
        } catch (err) {
          problems.push(`GET /v1/cluster: ${String(err)}`);
        }
        await sleep(500);
      }
    })();
    const client = async (i: number) => {
      for (let n = 0; running(); n++) {
        // One query in five is large, spread over the clients.
        const isLarge = (i + n) % 5 === 0;
        const body = isLarge ? large : small(i + n);
        const t0 = performance.now();
        let failure: { code: string; message: string } | null;
        inFlight++;
        try {
          const res = await timedPost(`${gateway!.url}/query`, body, { keepBody: true, signal: cut.signal });
          failure = failureOf(res.status, res.text ?? '');
        } catch (err) {
          if (cut.signal.aborted) {
            cutOff++;
            return;
          }
          failure = { code: `network ${(err as NodeJS.ErrnoException).code ?? (err as Error).name}`, message: String(err) };
        } finally {
          inFlight--;
        }
        if (failure) {
          const kept = samples.get(failure.code) ?? [];
          if (kept.length < SAMPLES) samples.set(failure.code, [...kept, failure.message]);
        }
        outcomes.push({ at: Date.now(), ms: performance.now() - t0, large: isLarge, failure: failure?.code ?? null });
      }
    };
    let reported = 0;
    const progress = setInterval(() => {
      const now = Date.now();
      const window = outcomes.slice(reported);
      reported = outcomes.length;
      const failed = outcomes.filter((o) => o.failure).length;
      const { p50, p99 } = latency(window);
      const current = memoryOf(pid)?.rss ?? 0;
      say(
        `${clock(now - started)} ${outcomes.length} queries (${failed} failed), ${inFlight} in flight; last ${Math.round(args.progressMs / 1000)} s: ${window.length} done, ` +
          `p50 ${msText(p50)}, p99 ${msText(p99)}; Drillbits max ${maxSeen}, ${events.size} scale events; gateway RSS ${mib(current)} MiB (peak ${mib(rss.peak)})`,
      );
    }, args.progressMs);
    const clients = Promise.all(Array.from({ length: args.clients }, (_, i) => client(i)));
    // The load ends at the deadline (or Ctrl-C); queries in flight get the grace period.
    while (running()) await sleep(Math.min(250, Math.max(1, deadline - Date.now())));
    say(`${clock(Date.now() - started)} load ends; waiting for ${inFlight} queries in flight (at most ${clock(args.graceMs)} mm:ss)`);
    const graceTimer = setTimeout(() => cut.abort(), args.graceMs);
    await clients;
    clearTimeout(graceTimer);
    endedAt = Date.now();
    stopLoad = true;
    sampling = false;
    clearInterval(progress);
    await sampler;
    const final = await gateway.cluster().catch(() => null);
    for (const e of final?.events ?? []) events.set(`${e.at} ${e.from} ${e.to}`, e);
    const m = memoryOf(pid);
    rss.end = m?.rss ?? 0;
    rss.peak = Math.max(rss.peak, m?.hwm ?? 0, rss.end);

    say('load done; stopping the gateway (and with it its Drillbits and ZooKeeper)');
    await gateway.stop();
    gatewayLeft = isAlive(pid);
    // JVMs of this run still there once the gateway has stopped: leaks (every JVM of the run has the work folder on its command line).
    jvmsLeft = jvmsMentioning(workDir);
  } catch (err) {
    problems.push(`soak: ${(err as Error).stack ?? String(err)}`);
  } finally {
    sampling = false;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    problems.push(...(await ctx.close()));
  }

  const failures = new Map<string, number>();
  for (const o of outcomes) if (o.failure) failures.set(o.failure, (failures.get(o.failure) ?? 0) + 1);
  const all = latency(outcomes);
  const bySize = (isLarge: boolean) => latency(outcomes.filter((o) => o.large === isLarge));
  const elapsed = Math.max(1, endedAt - started);
  const summary = {
    parameters: args,
    durationMs: elapsed,
    queries: outcomes.length,
    completed: outcomes.length - [...failures.values()].reduce((s, n) => s + n, 0),
    perSecond: round(outcomes.length / (elapsed / 1000), 1),
    failures: Object.fromEntries([...failures].sort((a, b) => b[1] - a[1])),
    failureMessages: Object.fromEntries(samples),
    cutOffAtEnd: cutOff,
    latencyMs: { all, small: bySize(false), large: bySize(true) },
    maxDrillbitsSeen: maxSeen,
    scaleEvents: [...events.values()].sort((a, b) => a.at.localeCompare(b.at)),
    gatewayRssMiB: { start: mib(rss.start), peak: mib(rss.peak), end: mib(rss.end) },
    jvmsLeftAfterStop: jvmsLeft,
    gatewayLeftRunning: gatewayLeft,
    load: load.finish(),
    problems,
  };
  const verdicts = [
    [failures.size === 0, `${outcomes.length - summary.completed} failed queries`],
    [outcomes.length > 0, 'no query ran'],
    [maxSeen <= args.maxDrillbits, `saw ${maxSeen} Drillbits, more than --max-drillbits ${args.maxDrillbits}`],
    [jvmsLeft.length === 0, `${jvmsLeft.length} JVMs left after stop (pids ${jvmsLeft.join(', ')})`],
    [!gatewayLeft, 'the gateway process did not exit'],
    [problems.length === 0, `${problems.length} problems`],
  ] as const;
  const broken = verdicts.filter(([ok]) => !ok).map(([, why]) => why);

  const lines = [
    '',
    `soak summary (${clock(elapsed)} mm:ss, ${args.clients} clients, max ${args.maxDrillbits} Drillbits)`,
    `  queries        ${summary.queries} (${summary.perSecond}/s), ${summary.completed} completed`,
    `  failures       ${failures.size === 0 ? 'none' : [...failures].map(([code, n]) => `${code}: ${n}`).join('; ')}${cutOff ? `; ${cutOff} cut off after the grace period` : ''}`,
    ...[...samples].flatMap(([code, messages]) => messages.map((m) => `    ${code}: ${m}`)),
    `  latency        p50 ${msText(all.p50)}, p99 ${msText(all.p99)} (small p50 ${msText(summary.latencyMs.small.p50)} / p99 ${msText(summary.latencyMs.small.p99)}; large p50 ${msText(summary.latencyMs.large.p50)} / p99 ${msText(summary.latencyMs.large.p99)})`,
    `  Drillbits      max ${maxSeen} seen; ${events.size} scale events${events.size ? `: ${summary.scaleEvents.map((e) => `${e.from}->${e.to}`).join(', ')}` : ''}`,
    `  gateway RSS    start ${summary.gatewayRssMiB.start} MiB, peak ${summary.gatewayRssMiB.peak} MiB, end ${summary.gatewayRssMiB.end} MiB`,
    `  after stop     ${jvmsLeft.length} JVMs left, gateway ${gatewayLeft ? 'STILL RUNNING' : 'exited'}`,
    `  machine        load ${summary.load.loadavgBefore[0]} -> ${summary.load.loadavgAfter[0]}, CPUs ${summary.load.cpuBusy === null ? '?' : Math.round(summary.load.cpuBusy * 100)} % busy, ${summary.load.foreignJvmsAtStart} foreign JVMs at start`,
    ...problems.map((p) => `  problem        ${p.split('\n')[0]}`),
    broken.length === 0 ? '  result         OK' : `  result         FAILED: ${broken.join('; ')}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (args.out) writeFileSync(args.out, JSON.stringify(summary, null, 2) + '\n');
  if (!args.keep) rmSync(workDir, { recursive: true, force: true });
  else say(`work folder kept: ${workDir}`);
  return broken.length === 0 ? 0 : 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
