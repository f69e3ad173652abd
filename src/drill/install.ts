// The Drill runtime: found through DRILL_HOME, or installed from Maven Central.
//
// Maven Central does not serve the binary distribution (org.apache.drill:distribution
// has no tar.gz there), but it does serve every released Drill jar. So the installer
// lets Maven resolve drill-java-exec 1.22.0 with its runtime dependencies into
// <dir>/jars: the same jars the distribution ships under jars/ and jars/3rdparty/.
// Dromedar launches the JVM itself (src/drill/launch.ts), so no scripts are needed.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { Config } from '../config/load.js';
import { EmbeddedZooKeeper } from '../schedulers/local/zookeeper.js';
import { DromedarError, describe } from '../util/errors.js';
import { freePort } from '../util/net.js';
import { tail } from '../util/files.js';
import { isAlive, run, runVisible, signal, sleep, terminate, waitForExit } from '../util/process.js';
import { DrillClient } from './client.js';
import { chosenModules, coordinates, moduleDependencies, type DrillModule } from './modules.js';
import { writeOptionCatalog } from './options.js';
import { CDS_ARCHIVE, CDS_STAMP, drillbitArgs, jarClasspath, logbackXml, type CdsStamp } from './launch.js';

const MARKER = '.dromedar-install.json';
const CORE_JAR = (version: string) => `drill-java-exec-${version}.jar`;

export interface DrillRuntime {
  home: string;
  version: string;
  /** The `java` of a full JDK (Drill compiles generated code at run time). */
  java: string;
}

export interface Logger {
  (line: string): void;
}

export function installDir(config: Pick<Config, 'home' | 'drill'>): string {
  return config.drill.installDir ?? join(config.home, `drill-${config.drill.version}`);
}

/** Finds a full JDK of version 17 or newer: JAVA_HOME first, then PATH. */
export async function findJdk(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const java = env.JAVA_HOME ? join(env.JAVA_HOME, 'bin', 'java') : 'java';
  const version = await run(java, ['-version']);
  if (version.code !== 0) {
    throw new DromedarError('missing_jdk', `no Java found (${env.JAVA_HOME ? `JAVA_HOME=${env.JAVA_HOME}` : 'java is not on PATH'}): install JDK 17 or newer, e.g. apt-get install openjdk-17-jdk-headless`);
  }
  const major = javaMajor(version.stderr + version.stdout);
  if (major === null || major < 17) {
    throw new DromedarError('missing_jdk', `Java ${major ?? '(unknown version)'} found at ${java}; Drill 1.22 needs JDK 17 or newer`);
  }
  const real = await resolveOnPath(java, env);
  const javac = join(dirname(real), 'javac');
  if (!existsSync(javac)) {
    throw new DromedarError('missing_jdk', `${real} belongs to a JRE, not a JDK (no javac beside it); Drill compiles code at run time and needs a full JDK 17+, e.g. apt-get install openjdk-17-jdk-headless`);
  }
  return real;
}

export function javaMajor(versionOutput: string): number | null {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (!match) return null;
  const first = Number(match[1]);
  return first === 1 ? Number(match[2]) : first;
}

async function resolveOnPath(command: string, env: NodeJS.ProcessEnv): Promise<string> {
  if (command.includes('/')) return realpath(command);
  for (const dir of (env.PATH ?? '').split(':')) {
    const candidate = join(dir, command);
    if (existsSync(candidate)) return realpath(candidate);
  }
  return command;
}

async function findMaven(): Promise<string> {
  const result = await run('mvn', ['-v']);
  if (result.code !== 0) {
    throw new DromedarError('missing_maven', 'Maven (mvn) is not on PATH; it fetches Drill from Maven Central: install it, e.g. apt-get install maven');
  }
  return 'mvn';
}

/** The installed runtime, validated; throws a DromedarError that says what to do. */
export async function resolveRuntime(config: Pick<Config, 'home' | 'drill'>): Promise<DrillRuntime> {
  const java = await findJdk();
  const home = config.drill.home ?? installDir(config);
  const problem = await validateHome(home, config.drill.version, config.drill.home !== undefined);
  if (problem) throw new DromedarError('drill_not_installed', problem);
  return { home, version: config.drill.version, java };
}

async function validateHome(home: string, version: string, userProvided: boolean): Promise<string | null> {
  const where = userProvided ? `DRILL_HOME=${home}` : home;
  if (!existsSync(home)) {
    return userProvided ? `${where} does not exist` : `Drill ${version} is not installed at ${home}: run \`dromedar drill install\``;
  }
  const jars = await listJars(home);
  if (!jars.some((jar) => jar.startsWith('drill-java-exec-'))) {
    return `${where} is not a Drill installation (no drill-java-exec jar under jars/)${userProvided ? '' : ': remove it and run `dromedar drill install` again'}`;
  }
  if (!jars.includes(CORE_JAR(version))) {
    const found = jars.find((jar) => jar.startsWith('drill-java-exec-'));
    return `${where} holds ${found}, but Dromedar runs Drill ${version}`;
  }
  if (!userProvided && !existsSync(join(home, MARKER))) {
    return `${home} is an incomplete installation: remove it and run \`dromedar drill install\` again`;
  }
  return null;
}

async function listJars(home: string): Promise<string[]> {
  const out: string[] = [];
  for (const sub of ['jars', 'jars/3rdparty', 'jars/ext']) {
    try {
      out.push(...(await readdir(join(home, sub))).filter((name) => name.endsWith('.jar')));
    } catch {
      /* not every layout has every folder */
    }
  }
  return out;
}

/**
 * Installs Drill unless it is there already. The jars land in a temporary folder that is
 * renamed into place only when complete, so an interrupted install never looks finished.
 */
export async function installDrill(config: Pick<Config, 'home' | 'drill'>, log: Logger): Promise<{ home: string; installed: boolean }> {
  const java = await findJdk();
  log(`JDK: ${java}`);
  const version = config.drill.version;
  if (config.drill.home) {
    const problem = await validateHome(config.drill.home, version, true);
    if (problem) throw new DromedarError('drill_not_installed', problem);
    log(`using the existing Drill at DRILL_HOME=${config.drill.home}; nothing to install`);
    return { home: config.drill.home, installed: false };
  }
  const target = installDir(config);
  const modules = chosenModules(config.drill.modules);
  const wanted = modules.map((m) => coordinates(m, version));
  let upgrade = false;
  if (existsSync(target)) {
    const problem = await validateHome(target, version, false);
    if (problem) throw new DromedarError('drill_corrupt', problem);
    const have = ((await installInfo(target))?.modules as string[] | undefined) ?? [];
    if (sameSet(have, wanted)) {
      log(`Drill ${version} is already installed at ${target}${wanted.length ? ` with ${modules.map((m) => m.name).join(', ')}` : ''}; nothing to do`);
      await ensureCdsArchive({ home: target, java }, log);
      return { home: target, installed: false };
    }
    // A new installation beside the old one, swapped in when complete (Maven's cache makes
    // the jars already there cost no download).
    log(`Drill ${version} at ${target} has the modules [${have.join(', ')}], drill.modules asks for [${wanted.join(', ')}]: installing anew beside it`);
    upgrade = true;
  }
  const mvn = await findMaven();
  await removeRetired(target);
  const staging = `${target}.partial-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  try {
    const extra = modules.length ? ` with ${modules.map((m) => m.name).join(', ')}` : '';
    log(`fetching Drill ${version}${extra} and their dependencies from Maven Central (about ${modules.length ? 190 : 160} MiB, cached in ~/.m2) ...`);
    const started = Date.now();
    await fetchJars(mvn, staging, version, modules);
    const jars = await listJars(staging);
    const missing = [CORE_JAR(version), ...modules.map((m) => `${m.name}-${m.version ?? version}.jar`)].filter((jar) => !jars.includes(jar));
    if (missing.length > 0) {
      throw new DromedarError('drill_download_failed', `Maven finished but ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing; run \`dromedar drill install\` again`);
    }
    const bytes = await folderBytes(join(staging, 'jars'));
    await writeFile(
      join(staging, MARKER),
      JSON.stringify({ version, source: 'maven-central', modules: wanted, jars: jars.length, bytes, fetchMs: Date.now() - started, installedAt: new Date().toISOString() }, null, 2),
    );
    for (const file of ['pom.xml', 'modules-pom.xml', 'drill.list', 'modules.list']) await rm(join(staging, file), { force: true });
    await mkdir(dirname(target), { recursive: true });
    if (upgrade) {
      // Two renames: a crash between them leaves no installation at `target`, which the
      // next install makes anew (the old one, at `retired`, is removed then).
      const retired = `${target}.retired-${process.pid}`;
      await rename(target, retired);
      await rename(staging, target);
      await rm(retired, { recursive: true, force: true });
    } else {
      await rename(staging, target);
    }
    log(`installed Drill ${version} (${jars.length} jars, ${Math.round(bytes / 2 ** 20)} MiB)${extra} at ${target}`);
    await ensureCdsArchive({ home: target, java }, log);
    return { home: target, installed: true };
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}

// Drill's own jars exactly as drill-java-exec alone resolves them; then each module with
// those of its dependencies that Drill does not have already. Drill's versions win: a
// module's tree never changes a jar of Drill's (Maven would otherwise pick the version
// nearest to the root, which can be the module's).
async function fetchJars(mvn: string, staging: string, version: string, modules: readonly DrillModule[]): Promise<void> {
  const jars = join(staging, 'jars');
  const maven = async (pom: string, goals: string[], what: string) => {
    const code = await runVisible(mvn, ['-B', '-q', '-C', '-Dstyle.color=never', '-f', join(staging, pom), ...goals, '-DincludeScope=runtime']);
    if (code !== 0) throw new DromedarError('drill_download_failed', `Maven could not fetch ${what} (exit ${code}); check access to Maven Central and run \`dromedar drill install\` again`);
  };
  await writeFile(join(staging, 'pom.xml'), runtimePom(version, []));
  await maven('pom.xml', ['dependency:copy-dependencies', `-DoutputDirectory=${jars}`, 'dependency:list', `-DoutputFile=${join(staging, 'drill.list')}`], `Drill ${version}`);
  if (modules.length === 0) return;
  await writeFile(join(staging, 'modules-pom.xml'), runtimePom(version, modules));
  const names = modules.map((m) => coordinates(m, version)).join(', ');
  await maven('modules-pom.xml', ['dependency:list', `-DoutputFile=${join(staging, 'modules.list')}`, '-DoutputAbsoluteArtifactFilename=true'], `the modules ${names} (drill.modules chooses them; "none" installs Drill alone)`);
  const drill = new Set(parseDependencyList(await readFile(join(staging, 'drill.list'), 'utf8')).map((d) => d.key));
  for (const dep of parseDependencyList(await readFile(join(staging, 'modules.list'), 'utf8'))) {
    if (!drill.has(dep.key) && dep.file) await copyFile(dep.file, join(jars, basename(dep.file)));
  }
}

/** The artifacts of `mvn dependency:list` output: groupId:artifactId[:classifier], and the file when listed. */
export function parseDependencyList(text: string): { key: string; file: string | null }[] {
  const out: { key: string; file: string | null }[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*([\w.-]+):([\w.-]+):jar(?::([\w.-]+))?:([\w.+-]+):(?:compile|runtime)(?::(\/\S+))?/.exec(line);
    if (m) out.push({ key: `${m[1]}:${m[2]}${m[3] ? `:${m[3]}` : ''}`, file: m[5] ?? null });
  }
  return out;
}

// What an upgrade interrupted between its two renames left behind.
async function removeRetired(target: string): Promise<void> {
  const prefix = `${basename(target)}.retired-`;
  for (const name of await readdir(dirname(target)).catch(() => [] as string[])) {
    if (name.startsWith(prefix)) await rm(join(dirname(target), name), { recursive: true, force: true });
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) total += (await stat(join(dir, name))).size;
  return total;
}

function runtimePom(version: string, modules: readonly DrillModule[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by dromedar drill install: resolves the Drill ${version} runtime jars. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dromedar.local</groupId>
  <artifactId>drill-runtime</artifactId>
  <version>${version}</version>
  <packaging>pom</packaging>
  <!-- Drill's own dependency versions (its root POM), so the jars agree as in Drill's build. -->
  <dependencyManagement>
    <dependencies>
      <dependency>
        <groupId>org.apache.drill</groupId>
        <artifactId>drill-root</artifactId>
        <version>${version}</version>
        <type>pom</type>
        <scope>import</scope>
      </dependency>
    </dependencies>
  </dependencyManagement>
  <dependencies>
    <dependency>
      <groupId>org.apache.drill.exec</groupId>
      <artifactId>drill-java-exec</artifactId>
      <version>${version}</version>
    </dependency>
${moduleDependencies(modules, version)}  </dependencies>
</project>
`;
}

/** Reads the install marker (for `dromedar status`). */
export async function installInfo(home: string): Promise<Record<string, unknown> | null> {
  try {
    return JSON.parse(await readFile(join(home, MARKER), 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------
// The class-data archive (AppCDS) of an installation; launch.ts uses it.

/** What an archive depends on: the JDK (path and build) and every jar (name, size, time). */
async function cdsFingerprint(home: string, java: string): Promise<{ javaVersion: string; fingerprint: string }> {
  const version = await run(java, ['-version']);
  const javaVersion = (version.stderr + version.stdout).trim();
  const hash = createHash('sha256').update(`${java}\n${javaVersion}\n`);
  for (const sub of ['jars', 'jars/ext', 'jars/3rdparty', 'jars/classb']) {
    const names = (await readdir(join(home, sub)).catch(() => [] as string[])).filter((n) => n.endsWith('.jar')).sort();
    for (const name of names) {
      const st = await stat(join(home, sub, name));
      hash.update(`${sub}/${name}:${st.size}:${Math.floor(st.mtimeMs)}\n`);
    }
  }
  return { javaVersion, fingerprint: hash.digest('hex') };
}

/** 'fresh' when the archive matches this JDK and these jars, 'missing' or 'stale' otherwise. */
export async function cdsArchiveState(runtime: Pick<DrillRuntime, 'home' | 'java'>): Promise<'fresh' | 'missing' | 'stale'> {
  let stamp: CdsStamp;
  try {
    stamp = JSON.parse(await readFile(join(runtime.home, CDS_STAMP), 'utf8')) as CdsStamp;
  } catch {
    return 'missing';
  }
  if (!existsSync(join(runtime.home, CDS_ARCHIVE))) return 'missing';
  const now = await cdsFingerprint(runtime.home, runtime.java);
  return stamp.java === runtime.java && stamp.fingerprint === now.fingerprint ? 'fresh' : 'stale';
}

/**
 * Builds the class-data archive unless a fresh one is there. Never fails the caller:
 * without an archive Drillbits start as before, only slower, so problems are logged.
 */
export async function ensureCdsArchive(runtime: Pick<DrillRuntime, 'home' | 'java'>, log: Logger, options: { force?: boolean } = {}): Promise<boolean> {
  try {
    const state = options.force ? 'stale' : await cdsArchiveState(runtime);
    if (state === 'fresh') {
      log(`the Drillbit class-data archive is up to date (${join(runtime.home, CDS_ARCHIVE)})`);
      return true;
    }
    log(`${state === 'missing' ? 'building' : 'rebuilding'} the Drillbit class-data archive (AppCDS: one Drillbit starts, runs a few queries and stops; about a minute) ...`);
    const stamp = await buildCdsArchive(runtime);
    log(`class-data archive ready: ${join(runtime.home, CDS_ARCHIVE)} (${Math.round(stamp.bytes / 2 ** 20)} MiB, built in ${Math.round(stamp.buildMs / 1000)} s); Drillbits start faster with it`);
    return true;
  } catch (err) {
    log(`warning: no class-data archive (${describe(err)}); Drillbits start without it, only slower. \`dromedar drill install\` tries again.`);
    return false;
  }
}

async function buildCdsArchive(runtime: Pick<DrillRuntime, 'home' | 'java'>): Promise<CdsStamp> {
  const started = Date.now();
  const { home, java } = runtime;
  const work = await mkdtemp(join(tmpdir(), 'dromedar-cds-'));
  const partial = join(home, `${CDS_ARCHIVE}.partial-${process.pid}`);
  const zookeeper = new EmbeddedZooKeeper(join(work, 'zookeeper'), runtime, {});
  let pid: number | undefined;
  try {
    const zkConnect = await zookeeper.start();
    const bitDir = join(work, 'bit');
    for (const sub of ['log', 'tmp', 'spill', 'data/trips/a', 'data/trips/b']) await mkdir(join(bitDir, sub), { recursive: true });
    await writeFile(join(work, 'logback.xml'), logbackXml());
    const ports = { user: await freePort(), control: await freePort(), data: await freePort(), http: await freePort() };
    // Exactly a Drillbit's command line without an archive, but with Drill's jars alone on
    // the classpath (the archive records it; Drillbits append their configuration folder),
    // so the cluster settings come as system properties, which Drill reads too.
    const args = drillbitArgs({ runtime, confDir: work, bitDir, host: '127.0.0.1', ports, heap: '1G', directMemory: '1536M', jvmOptions: [], cds: false });
    const cp = args.indexOf('-cp');
    args[cp + 1] = jarClasspath(home).join(':');
    args.splice(
      cp,
      0,
      `-XX:ArchiveClassesAtExit=${partial}`,
      `-Dlogback.configurationFile=${join(work, 'logback.xml')}`,
      `-Ddrill.exec.zk.connect=${zkConnect}`,
      `-Ddrill.exec.cluster-id=dromedar-cds-${process.pid}`,
      '-Ddrill.exec.allow_loopback_address_binding=true',
      '-Ddrill.exec.udf.directory.fs=file:///',
      `-Ddrill.exec.udf.directory.root=${join(work, 'udf')}`,
      `-Ddrill.exec.sys.store.provider.local.path=${join(work, 'store')}`,
    );
    const out = openSync(join(bitDir, 'log', 'stdout.log'), 'a');
    const child = spawn(java, args, { cwd: bitDir, env: { ...process.env, DRILL_HOME: bitDir, DRILL_LOG_DIR: join(bitDir, 'log'), MALLOC_ARENA_MAX: '4' }, stdio: ['ignore', out, out], detached: true });
    closeSync(out);
    child.unref();
    pid = child.pid;
    if (pid === undefined) throw new Error(`could not start ${java}`);
    const drill = new DrillClient(`http://127.0.0.1:${ports.http}`, 10_000);
    await waitUntilOnline(drill, pid, ports.user, bitDir, 300_000);
    // The same Drillbit tells which session options this Drill has (see options.ts).
    await writeOptionCatalog(drill, home).catch(() => {});
    await trainingWorkload(drill, join(bitDir, 'data'));
    // SIGTERM runs Drill's shutdown; the JVM writes the archive as it exits.
    signal(pid, 'SIGTERM');
    if (!(await waitForExit(pid, 300_000))) throw new Error('the training Drillbit did not exit within 5 minutes');
    const written = await stat(partial).catch(() => null);
    if (!written || written.size === 0) throw new Error(`the JVM wrote no archive; last output:\n${await tail(join(bitDir, 'log', 'stdout.log'), 5)}`);
    await rename(partial, join(home, CDS_ARCHIVE));
    const stamp: CdsStamp = { java, ...(await cdsFingerprint(home, java)), builtAt: new Date().toISOString(), buildMs: Date.now() - started, bytes: written.size };
    await writeFile(join(home, CDS_STAMP), JSON.stringify(stamp, null, 2) + '\n');
    return stamp;
  } finally {
    if (pid !== undefined && isAlive(pid)) await terminate(pid, 5_000);
    await zookeeper.stop().catch(() => {});
    await rm(partial, { force: true });
    await rm(work, { recursive: true, force: true });
  }
}

async function waitUntilOnline(drill: DrillClient, pid: number, userPort: number, bitDir: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const me = (await drill.cluster()).drillbits.find((d) => Number(d.userPort) === userPort);
      if (me?.state === 'ONLINE') return;
    } catch {
      /* not serving HTTP yet */
    }
    if (!isAlive(pid)) throw new Error(`the training Drillbit exited during start-up:\n${await tail(join(bitDir, 'log', 'drillbit.log'), 10)}`);
    if (Date.now() > deadline) throw new Error(`the training Drillbit was not ONLINE within ${timeoutMs} ms`);
    await sleep(250);
  }
}

// What a Drillbit of Dromedar does early in its life, so those classes are archived
// too: the REST endpoints the gateway calls, and queries over text, JSON and Parquet
// with filters, aggregates, joins, sorts and directory columns. A query that fails
// only leaves its classes out.
async function trainingWorkload(drill: DrillClient, data: string): Promise<void> {
  const rows = Array.from({ length: 2000 }, (_, i) => `${i},city${i % 7},${(i % 90) + 0.5}`);
  await writeFile(join(data, 'trips', 'a', 'part-0.csvh'), `id,city,fare\n${rows.slice(0, 1000).join('\n')}\n`);
  await writeFile(join(data, 'trips', 'b', 'part-0.csvh'), `id,city,fare\n${rows.slice(1000).join('\n')}\n`);
  await writeFile(join(data, 'people.json'), Array.from({ length: 500 }, (_, i) => JSON.stringify({ id: i, name: `p${i}`, tags: [i % 3], address: { zip: 1000 + i } })).join('\n'));
  const parquet = `dromedar_cds_${process.pid}_${Date.now()}`;
  const trips = `dfs.\`${join(data, 'trips')}\``;
  const queries = [
    'SELECT * FROM sys.version',
    'SELECT COUNT(*) AS n FROM sys.drillbits',
    'SELECT * FROM INFORMATION_SCHEMA.`TABLES` LIMIT 5',
    `SELECT * FROM ${trips} LIMIT 10`,
    `SELECT dir0, city, COUNT(*) AS n, SUM(CAST(fare AS DOUBLE)) AS s, AVG(CAST(fare AS DOUBLE)) AS a FROM ${trips} WHERE CAST(id AS INT) > 10 GROUP BY dir0, city ORDER BY n DESC`,
    `SELECT p.name, p.address.zip AS zip, t.city FROM dfs.\`${join(data, 'people.json')}\` p JOIN ${trips} t ON p.id = CAST(t.id AS INT) WHERE p.id < 100 ORDER BY p.name LIMIT 20`,
    `SELECT COUNT(DISTINCT city) AS c, MIN(fare) AS lo, MAX(fare) AS hi FROM ${trips} WHERE dir0 = 'a'`,
    `CREATE TABLE dfs.tmp.\`${parquet}\` AS SELECT CAST(id AS INT) AS id, city, CAST(fare AS DOUBLE) AS fare FROM ${trips}`,
    `SELECT city, SUM(fare) AS s FROM dfs.tmp.\`${parquet}\` WHERE id BETWEEN 5 AND 1500 GROUP BY city ORDER BY city`,
  ];
  try {
    for (const query of queries) {
      try {
        const res = await drill.query({ queryType: 'SQL', query });
        await res.body.text();
      } catch {
        /* a failed training query only leaves its classes out */
      }
    }
    for (const path of ['/status', '/status.json', '/cluster.json', '/queriesCount', '/profiles.json', '/options.json', '/storage.json']) {
      try {
        await (await drill.stream('GET', path)).body.text();
      } catch {
        /* same */
      }
    }
  } finally {
    // dfs.tmp is the /tmp workspace of Drill's bootstrap storage configuration.
    await rm(join('/tmp', parquet), { recursive: true, force: true });
  }
}
