// How a Drillbit JVM is started: one place for the classpath, JVM flags and the
// per-Drillbit settings, used by the local scheduler (as an argv) and by the
// Marathon app definition (as a shell command with $PORT0.. placeholders).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DrillRuntime } from './install.js';

/** A port as a number, or a shell expression such as "$PORT0" for Marathon. */
export type PortRef = number | string;

export interface DrillbitLaunch {
  runtime: Pick<DrillRuntime, 'home' | 'java'>;
  /** Cluster-wide configuration folder (drill-override.conf, logback.xml, storage override). */
  confDir: string;
  /** This Drillbit's own folder: log/, tmp/, spill/, and its graceful-shutdown signal file. */
  bitDir: string;
  /** The address the Drillbit binds to and advertises in ZooKeeper. */
  host: string;
  ports: { user: PortRef; control: PortRef; data: PortRef; http: PortRef };
  heap: string;
  directMemory: string;
  jvmOptions: string[];
  /**
   * Start from the installation's class-data archive when it has a valid one (see
   * `cdsArchive`); default true. False gives exactly the command line of a Drillbit without it.
   */
  cds?: boolean;
}

export const DRILLBIT_MAIN = 'org.apache.drill.exec.server.Drillbit';
export const GRACEFUL_SIGFILE = 'graceful';

const JAR_DIRS = ['jars', 'jars/ext', 'jars/3rdparty', 'jars/classb'];

/** Drill's classpath: site configuration first, then the jar folders of either layout. */
export function classpath(home: string, confDir: string): string {
  return [confDir, ...jarClasspath(home)].join(':');
}

/** Drill's jar folders as classpath wildcards (the JVM expands them). */
export function jarClasspath(home: string): string[] {
  return JAR_DIRS.map((dir) => `${join(home, dir)}/*`);
}

// Class data sharing (AppCDS): `dromedar drill install` starts one Drillbit with
// -XX:ArchiveClassesAtExit, runs a few queries and stops it; the JVM writes the classes
// it loaded, parsed and verified, into an archive that later Drillbits map instead of
// loading those classes from ~250 jars again: a start-up then takes about 35-45% less
// CPU and reaches ONLINE in 0.45-0.75 of the time (bench/README.md, `startup`). The
// archive is valid for one JDK and one set of jars; the JVM checks both (jar sizes and
// times, its own build) and quietly starts without it when they do not match
// (-Xshare:auto, the default), so a stale archive costs speed, never a start.
/** The archive, beside Drill's jars. */
export const CDS_ARCHIVE = 'dromedar-drillbit.jsa';
/** What the archive was built from (JDK, jar fingerprint), written after the archive. */
export const CDS_STAMP = 'dromedar-drillbit.jsa.json';

export interface CdsStamp {
  java: string;
  javaVersion: string;
  fingerprint: string;
  builtAt: string;
  buildMs: number;
  bytes: number;
}

/** The class-data archive of this runtime, when there is one built for its `java`; else null. */
export function cdsArchive(runtime: Pick<DrillRuntime, 'home' | 'java'>): string | null {
  const archive = join(runtime.home, CDS_ARCHIVE);
  try {
    const stamp = JSON.parse(readFileSync(join(runtime.home, CDS_STAMP), 'utf8')) as Partial<CdsStamp>;
    if (stamp.java !== runtime.java || !existsSync(archive)) return null;
  } catch {
    return null;
  }
  return archive;
}

// Java 17 closes the JDK internals Drill (Netty, its allocator, Hadoop) reaches into.
const ADD_OPENS = [
  'java.base/java.lang',
  'java.base/java.util',
  'java.base/sun.nio.ch',
  'java.base/java.net',
  'java.base/java.nio',
  'java.security.jgss/sun.security.krb5',
].map((pkg) => `--add-opens=${pkg}=ALL-UNNAMED`);

/** The JVM flags shared by every Drill-side JVM we start (Drillbits; ZooKeeper uses a subset). */
function memoryFlags(launch: DrillbitLaunch): string[] {
  return [
    `-Xms${launch.heap}`,
    `-Xmx${launch.heap}`,
    `-XX:MaxDirectMemorySize=${launch.directMemory}`,
    '-XX:ReservedCodeCacheSize=512m',
    // G1 as Drill's own scripts choose it, unless jvmOptions name another collector
    // (two collectors on one command line stop the JVM: "Conflicting collector combinations").
    ...(launch.jvmOptions.some((flag) => OTHER_GC.test(flag)) ? [] : ['-XX:+UseG1GC']),
  ];
}

const OTHER_GC = /^-XX:\+Use(Serial|Parallel|Z|Shenandoah|Epsilon)GC$/;

/** Arguments for `java` that start one Drillbit. */
export function drillbitArgs(launch: DrillbitLaunch): string[] {
  const { bitDir, ports } = launch;
  const props: Record<string, string> = {
    'log.path': join(bitDir, 'log', 'drillbit.log'),
    'log.query.path': join(bitDir, 'log', 'drillbit_queries.json'),
    'drill.tmp-dir': join(bitDir, 'tmp'),
    'drill.exec.rpc.user.server.port': String(ports.user),
    'drill.exec.rpc.bit.server.port': String(ports.control),
    'drill.exec.rpc.bit.server.dataport': String(ports.data),
    'drill.exec.http.port': String(ports.http),
    'drill.exec.rpc.bind_addr': launch.host,
    'drill.exec.http.bind_addr': launch.host,
    'drill.exec.compile.code_dir': join(bitDir, 'tmp', 'codegen'),
    'drill.exec.trace.directory': join(bitDir, 'tmp', 'trace'),
    // Lists given as system properties use numeric keys (Typesafe Config turns them into lists).
    'drill.exec.tmp.directories.0': join(bitDir, 'tmp', 'drill'),
    'drill.exec.spill.directories.0': join(bitDir, 'spill'),
  };
  // The archive records the classpath it was built with (Drill's jars) and is used only
  // when the Drillbit's classpath starts with exactly those, so the site configuration
  // folder goes last. (No Drill jar carries drill-override.conf, logback.xml or
  // storage-plugins-override.conf, so the order changes no lookup.)
  const archive = launch.cds === false ? null : cdsArchive(launch.runtime);
  return [
    ...memoryFlags(launch),
    ...(archive ? [`-XX:SharedArchiveFile=${archive}`] : []),
    '-Ddrill.exec.enable-epoll=false',
    '-Djava.net.preferIPv4Stack=true',
    ...ADD_OPENS,
    ...Object.entries(props).map(([key, value]) => `-D${key}=${value}`),
    ...launch.jvmOptions,
    '-cp',
    archive ? [...jarClasspath(launch.runtime.home), launch.confDir].join(':') : classpath(launch.runtime.home, launch.confDir),
    DRILLBIT_MAIN,
  ];
}

/**
 * Environment of a Drillbit. Drill watches $DRILL_HOME for $GRACEFUL_SIGFILE, so
 * DRILL_HOME points at the Drillbit's own folder: each one has its own signal file.
 */
export function drillbitEnv(launch: DrillbitLaunch, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...base,
    DRILL_HOME: launch.bitDir,
    GRACEFUL_SIGFILE,
    DRILL_HOST_NAME: launch.host,
    DRILL_LOG_DIR: join(launch.bitDir, 'log'),
    // glibc arenas otherwise make a JVM's virtual memory explode (Drill's own scripts set these).
    MALLOC_ARENA_MAX: '4',
  };
}

export interface ClusterConf {
  clusterId: string;
  zkConnect: string;
  /** Cluster-wide folder for dynamic UDFs and query profiles (kept out of the user's home and /tmp). */
  stateDir: string;
  /** Queries the gateway sends one Drillbit at once (config pool.queriesPerDrillbit). */
  queriesPerDrillbit: number;
  /** Drill's user impersonation (config drill.impersonation): /query.json's userName runs the query as that user. */
  impersonation?: boolean;
  /**
   * A folder every Drillbit of the cluster shares for finished query profiles (Drill's
   * ZooKeeper store keeps its blobs at sys.store.provider.zk.blobroot, by default each
   * Drillbit's own log folder, gone with the Drillbit). Unset: Drill's default.
   */
  profileStore?: string;
}

// Drill's REST API holds one web-server thread per running /query.json, and Drill gives
// its Jetty 5 of them: with more queries at once, further requests (queries, and the
// gateway's own /cluster.json and /queriesCount) wait in Jetty, unseen. So every
// Drillbit gets a thread per query the gateway may send it, plus room for those calls.
export const HTTP_THREADS_BEYOND_QUERIES = 8;

/** drill-override.conf shared by the Drillbits of one cluster. */
export function drillOverrideConf(conf: ClusterConf): string {
  return `# Written by Dromedar; per-Drillbit settings come as -D flags on the command line.
drill.exec: {
  cluster-id: ${JSON.stringify(conf.clusterId)},
  zk.connect: ${JSON.stringify(conf.zkConnect)},
  allow_loopback_address_binding: true,
  udf.directory.fs: "file:///",
  udf.directory.root: ${JSON.stringify(conf.stateDir + '/udf')},
  # Query profiles land here: every Drillbit of the cluster (one host) sees all of them.
  sys.store.provider.local.path: ${JSON.stringify(conf.stateDir + '/store')},${conf.profileStore ? `\n  # Finished profiles (<folder>/profiles/<queryId>.sys.drill) outlive the Drillbit that ran the query.\n  sys.store.provider.zk.blobroot: ${JSON.stringify('file://' + conf.profileStore)},` : ''}
  # A quiescent Drillbit waits this long before it stops taking fragments, so a query
  # planned just before the drain started still finds it (Drill advises >= 2 x zk.refresh).
  grace_period_ms: 1000,
  storage.action_on_plugins_override_file: "none",
  http.jetty.server.handlers: ${conf.queriesPerDrillbit + HTTP_THREADS_BEYOND_QUERIES},${conf.impersonation ? '\n  # drill.impersonation: /query.json\'s userName runs the query as that user.\n  impersonation: { enabled: true, max_chained_user_hops: 3 },' : ''}
  # Failed queries on /query.json then carry Drill's error message, not just queryState FAILED.
  options: { drill.exec.http.rest.errors.verbose: true }
}
`;
}

/** Logback configuration: one log file per JVM at -Dlog.path, INFO for Drill, WARN for libraries. */
export function logbackXml(): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by Dromedar. -->
<configuration>
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>\${log.path}</file>
    <encoder><pattern>%date{ISO8601} [%thread] %-5level %logger{36} - %msg%n</pattern></encoder>
  </appender>
  <logger name="org.apache.drill" level="INFO"/>
  <root level="WARN"><appender-ref ref="FILE"/></root>
</configuration>
`;
}

/**
 * The local cluster's shared profile store: Drill writes <this>/profiles/<queryId>.sys.drill.
 * (Drillbits in a sandbox need it bound read-write.)
 */
export function profileStoreDir(home: string): string {
  return join(home, 'local', 'cluster');
}
