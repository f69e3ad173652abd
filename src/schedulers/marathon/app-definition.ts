// The Marathon app that runs the Drillbits, as a pure function of the configuration:
// the scheduler creates it, marathon/drillbits.json is rendered from it (render.ts),
// and tests check both. Its `cmd` is a shell script Mesos runs in the task's sandbox:
// it writes the Drillbit's configuration there, then starts the JVM on the ports Mesos
// gave the task, with the same flags the local scheduler uses (src/drill/launch.ts).
import { createHash } from 'node:crypto';
import type { Config } from '../../config/load.js';
import { drillbitArgs, drillbitEnv, drillOverrideConf, logbackXml, type DrillbitLaunch } from '../../drill/launch.js';
import { storageOverrideConf, workspaces } from '../../storage/dfs.js';
import { DromedarError } from '../../util/errors.js';
import { jvmBytes } from '../local/memory.js';

export type MarathonSettings = Config['scheduler']['marathon'];
export type DrillbitsAppConfig = Pick<Config, 'dataDir' | 'storage' | 'pool'> & { scheduler: Pick<Config['scheduler'], 'marathon'>; drill?: Pick<Config['drill'], 'impersonation'> };

/** The app's ports, in order: Mesos hands them to the task as $PORT0..$PORT3. */
export const PORT_NAMES = ['user', 'control', 'data', 'http'] as const;
export const HTTP_PORT_INDEX = PORT_NAMES.indexOf('http');
/** Label holding a hash of the definition, so a restarted gateway can tell whether the app drifted. */
export const SPEC_LABEL = 'dromedar.spec';

// After Drill's graceful shutdown the task stays up (idle) this long for the gateway to kill it.
const LINGER_SECONDS = 600;
// What the JVM's environment holds besides Drill's own variables: nothing of the agent's.
const CLEAN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
// While it lingers, a tiny HTTP server on the Drillbit's HTTP port answers Marathon's
// /status health check, so the check does not kill the drained task and have Marathon
// start a replacement (Java's single-file launch: any JDK 11+; plain sleep on a JRE).
const LINGER_JAVA = [
  'import com.sun.net.httpserver.HttpServer;',
  'import java.net.InetSocketAddress;',
  'public class Linger {',
  '  public static void main(String[] a) throws Exception {',
  '    HttpServer s = HttpServer.create(new InetSocketAddress(a[0], Integer.parseInt(a[1])), 0);',
  '    s.createContext("/", x -> {',
  '      byte[] b = "{\\"status\\":\\"drained\\"}".getBytes();',
  '      x.sendResponseHeaders(x.getRequestURI().getPath().equals("/status") ? 200 : 404, b.length);',
  '      x.getResponseBody().write(b);',
  '      x.close();',
  '    });',
  '    s.start();',
  '    Thread.sleep(Long.parseLong(a[2]) * 1000L);',
  '    System.exit(0);',
  '  }',
  '}',
  '',
].join('\n');
// Room in the task's memory beyond heap and direct memory: metaspace, code cache, thread stacks.
const JVM_OVERHEAD_MB = 512;

export interface Artifact {
  uri: string;
  extract: boolean;
  executable: boolean;
  cache: boolean;
  destPath?: string;
}

export interface HealthCheck {
  protocol: string;
  path: string;
  portIndex: number;
  gracePeriodSeconds: number;
  intervalSeconds: number;
  timeoutSeconds: number;
  maxConsecutiveFailures: number;
}

/** The subset of Marathon's App (REST API v2) that Dromedar writes. */
export interface MarathonApp {
  id: string;
  cmd: string;
  instances: number;
  cpus: number;
  mem: number;
  disk: number;
  fetch?: Artifact[];
  container?: {
    type: 'MESOS' | 'DOCKER';
    docker: { image: string; forcePullImage: boolean };
    volumes: { containerPath: string; hostPath: string; mode: 'RO' | 'RW' }[];
  };
  env: Record<string, string>;
  portDefinitions: { port: number; protocol: 'tcp'; name: string }[];
  requirePorts: boolean;
  healthChecks: HealthCheck[];
  constraints?: string[][];
  upgradeStrategy: { minimumHealthCapacity: number; maximumOverCapacity: number };
  taskKillGracePeriodSeconds: number;
  labels: Record<string, string>;
}

/** The Drillbits app with `instances` tasks. */
export function drillbitsApp(config: DrillbitsAppConfig, instances = 0): MarathonApp {
  const m = config.scheduler.marathon;
  assertMemoryFits(m);
  const app: MarathonApp = {
    id: m.appId,
    cmd: drillbitCmd(config),
    instances,
    cpus: m.cpus,
    mem: m.mem,
    disk: m.disk,
    ...(m.fetch.length ? { fetch: m.fetch.map(({ destPath, ...rest }) => ({ ...rest, ...(destPath ? { destPath } : {}) })) } : {}),
    ...(m.container.type !== 'NONE' ? { container: container(config) } : {}),
    // Nothing of the gateway's: the Drillbit's own settings are in its cmd, and no secret is here.
    env: {},
    portDefinitions: PORT_NAMES.map((name) => ({ port: 0, protocol: 'tcp' as const, name })),
    requirePorts: false,
    healthChecks: [
      {
        protocol: m.healthCheck.protocol,
        path: '/status',
        portIndex: HTTP_PORT_INDEX,
        gracePeriodSeconds: m.healthCheck.gracePeriodSeconds,
        intervalSeconds: m.healthCheck.intervalSeconds,
        timeoutSeconds: m.healthCheck.timeoutSeconds,
        maxConsecutiveFailures: m.healthCheck.maxConsecutiveFailures,
      },
    ],
    ...(m.constraints.length ? { constraints: m.constraints } : {}),
    upgradeStrategy: { minimumHealthCapacity: m.upgradeStrategy.minimumHealthCapacity, maximumOverCapacity: m.upgradeStrategy.maximumOverCapacity },
    taskKillGracePeriodSeconds: m.taskKillGracePeriodSeconds,
    labels: { ...m.labels, 'dromedar.cluster-id': m.clusterId },
  };
  app.labels[SPEC_LABEL] = specHash(app);
  return app;
}

// The Drillbit's container: an image with a JDK, and the workspace roots as its only host
// paths (nested ones after their parents, so a writable tmp inside a read-only root stays writable).
function container(config: DrillbitsAppConfig): NonNullable<MarathonApp['container']> {
  const m = config.scheduler.marathon;
  const roots = [...workspaces(config).values()].sort((a, b) => a.root.length - b.root.length);
  return {
    type: m.container.type as 'MESOS' | 'DOCKER',
    docker: { image: m.container.image, forcePullImage: m.container.forcePullImage },
    volumes: roots.map((w) => ({ containerPath: w.root, hostPath: w.root, mode: w.writable ? ('RW' as const) : ('RO' as const) })),
  };
}

/** A hash of everything but `instances` (which scaling changes) and the hash label itself. */
export function specHash(app: MarathonApp): string {
  const { instances: _instances, labels, ...rest } = app;
  const { [SPEC_LABEL]: _spec, ...otherLabels } = labels;
  return createHash('sha256').update(JSON.stringify({ ...rest, labels: otherLabels })).digest('hex').slice(0, 16);
}

/** The task's shell script. $PORT0..3, $HOST and $MESOS_SANDBOX come from Marathon and Mesos. */
export function drillbitCmd(config: DrillbitsAppConfig): string {
  const m = config.scheduler.marathon;
  const launch: DrillbitLaunch = {
    runtime: { home: m.drillHome, java: '$JAVA' },
    confDir: '$SANDBOX/conf',
    bitDir: '$SANDBOX',
    host: m.bindAddress,
    ports: { user: '$PORT0', control: '$PORT1', data: '$PORT2', http: '$PORT3' },
    heap: m.heap,
    directMemory: m.directMemory,
    jvmOptions: m.jvmOptions,
  };
  // Bound to bindAddress, advertised in ZooKeeper as the agent's name.
  const env = { ...drillbitEnv(launch, {}), DRILL_HOST_NAME: '$HOST' };
  const files: [string, string][] = [
    ['drill-override.conf', drillOverrideConf({ clusterId: m.clusterId, zkConnect: m.zkConnect, stateDir: '$SANDBOX/state', queriesPerDrillbit: config.pool.queriesPerDrillbit, impersonation: config.drill?.impersonation })],
    ['logback.xml', logbackXml()],
    ['storage-plugins-override.conf', storageOverrideConf(config)],
  ];
  return [
    '# Dromedar Drillbit task (generated by src/schedulers/marathon/app-definition.ts)',
    'set -e',
    'SANDBOX="${MESOS_SANDBOX:-$PWD}"',
    'cd "$SANDBOX"',
    'mkdir -p conf log tmp spill state',
    ...(m.siteConf ? [`if [ -d ${shellWord(m.siteConf)} ]; then cp -R ${shellWord(m.siteConf)}/. conf/; fi`] : []),
    ...files.map(([name, text]) => `printf '%s' ${shellWord(text)} > conf/${name}`),
    m.java ? `JAVA=${shellWord(m.java)}` : 'JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"',
    'command -v "$JAVA" >/dev/null 2>&1 || { echo "dromedar: no java at $JAVA: set scheduler.marathon.java or JAVA_HOME (a JDK 17), or use a container image with one" >&2; exit 127; }',
    'JAVA="$(command -v "$JAVA")"',
    `printf '%s' ${shellWord(LINGER_JAVA)} > linger.java`,
    // The JVM gets a clean environment: Drill's variables only, nothing the agent or Marathon passed.
    `clean() { exec env -i PATH=${shellWord(CLEAN_PATH)} HOME="$SANDBOX" ${Object.entries(env).map(([key, value]) => `${key}=${shellWord(String(value))}`).join(' ')} "$@"; }`,
    // Forward a kill to the JVM, whose shutdown hook lets running queries finish.
    "stopping=; child=; trap 'stopping=1; [ -n \"$child\" ] && kill -TERM $child 2>/dev/null' TERM INT",
    '[ -z "$stopping" ] || exit 143',
    `clean "$JAVA" ${drillbitArgs(launch).map(shellWord).join(' ')} &`,
    'child=$!',
    'set +e',
    'wait $child; code=$?',
    // `wait` returns early when the trap ran; the JVM may still be shutting down.
    'while kill -0 $child 2>/dev/null; do wait $child; code=$?; done',
    // Exit 0 unasked is Drill's graceful shutdown: stay up until the gateway kills the task
    // with scale=true, or Marathon would start a replacement.
    'if [ $code -eq 0 ] && [ -z "$stopping" ]; then',
    `  clean "$JAVA" -Xmx24m -XX:TieredStopAtLevel=1 linger.java ${shellWord(m.bindAddress)} "$PORT3" ${LINGER_SECONDS} & child=$!`,
    '  wait $child; lcode=$?; while kill -0 $child 2>/dev/null; do wait $child; lcode=$?; done',
    // No JDK compiler (a JRE): linger without answering the health check.
    `  if [ $lcode -ne 0 ] && [ -z "$stopping" ]; then sleep ${LINGER_SECONDS} & child=$!; wait $child; fi`,
    'fi',
    'exit $code',
  ].join('\n');
}

/**
 * One shell word in double quotes. Upper-case variables ($PORT0, ${MESOS_SANDBOX}) stay
 * live so the agent expands them; every other `$`, quote, backslash and backtick is literal.
 */
export function shellWord(value: string): string {
  const live = /\$(?:\{[A-Z_][A-Z0-9_]*\}|[A-Z_][A-Z0-9_]*)/g;
  let out = '';
  let last = 0;
  for (const match of value.matchAll(live)) {
    out += escapeDoubleQuoted(value.slice(last, match.index)) + match[0];
    last = match.index + match[0].length;
  }
  return `"${out}${escapeDoubleQuoted(value.slice(last))}"`;
}

function escapeDoubleQuoted(text: string): string {
  return text.replace(/[\\"$`]/g, '\\$&');
}

// Mesos kills a task that outgrows `mem`: say so before Marathon accepts an app that cannot run.
function assertMemoryFits(m: MarathonSettings): void {
  const neededMb = (jvmBytes(m.heap) + jvmBytes(m.directMemory)) / 2 ** 20 + JVM_OVERHEAD_MB;
  if (m.mem < neededMb) {
    throw new DromedarError(
      'invalid_config',
      `scheduler.marathon.mem is ${m.mem} MB, but a Drillbit with heap ${m.heap} and directMemory ${m.directMemory} needs at least ${neededMb} MB (including ${JVM_OVERHEAD_MB} MB for the JVM itself)`,
    );
  }
}
