// The Drill runtime: found through DRILL_HOME, or installed from Maven Central.
//
// Maven Central does not serve the binary distribution (org.apache.drill:distribution
// has no tar.gz there), but it does serve every released Drill jar. So the installer
// lets Maven resolve drill-java-exec 1.22.0 with its runtime dependencies into
// <dir>/jars: the same jars the distribution ships under jars/ and jars/3rdparty/.
// Dromedar launches the JVM itself (src/drill/launch.ts), so no scripts are needed.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Config } from '../config/load.js';
import { DromedarError } from '../util/errors.js';
import { run, runVisible } from '../util/process.js';

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
  if (existsSync(target)) {
    const problem = await validateHome(target, version, false);
    if (problem) throw new DromedarError('drill_corrupt', problem);
    log(`Drill ${version} is already installed at ${target}; nothing to do`);
    return { home: target, installed: false };
  }
  const mvn = await findMaven();
  const staging = `${target}.partial-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  try {
    await writeFile(join(staging, 'pom.xml'), runtimePom(version));
    log(`fetching Drill ${version} and its dependencies from Maven Central (about 170 MB, cached in ~/.m2) ...`);
    const args = ['-B', '-q', '-C', '-Dstyle.color=never', '-f', join(staging, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${join(staging, 'jars')}`, '-DincludeScope=runtime'];
    const code = await runVisible(mvn, args);
    if (code !== 0) {
      throw new DromedarError('drill_download_failed', `Maven could not fetch Drill ${version} (exit ${code}); check access to Maven Central and run \`dromedar drill install\` again`);
    }
    const jars = await listJars(staging);
    if (!jars.includes(CORE_JAR(version))) {
      throw new DromedarError('drill_download_failed', `Maven finished but ${CORE_JAR(version)} is missing; run \`dromedar drill install\` again`);
    }
    await writeFile(join(staging, MARKER), JSON.stringify({ version, source: 'maven-central', jars: jars.length, installedAt: new Date().toISOString() }, null, 2));
    await rm(join(staging, 'pom.xml'));
    await mkdir(dirname(target), { recursive: true });
    await rename(staging, target);
    log(`installed Drill ${version} (${jars.length} jars) at ${target}`);
    return { home: target, installed: true };
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}

function runtimePom(version: string): string {
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
  </dependencies>
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
