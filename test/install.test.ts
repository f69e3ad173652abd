// The installer's checks, without the network: JDK detection, idempotence, and
// clear errors for missing tools and broken installations.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { findJdk, installDrill, installInfo, javaMajor, parseDependencyList, resolveRuntime } from '../src/drill/install.js';
import { chosenModules, coordinates } from '../src/drill/modules.js';
import { DrillOptionCatalog } from '../src/drill/options.js';
import { drillbitArgs } from '../src/drill/launch.js';
import { DromedarError } from '../src/util/errors.js';
import { DRILL_DIR, OPTION_CATALOG_FIXTURE_DIR, testConfig } from './support/env.js';

const scratch = mkdtempSync(join(tmpdir(), 'dromedar-install-'));

function fakeJava(dir: string, version: string, withJavac: boolean): string {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  const java = join(dir, 'bin', 'java');
  writeFileSync(java, `#!/bin/sh\necho 'openjdk version "${version}" 2025-01-01' >&2\n`);
  chmodSync(java, 0o755);
  if (withJavac) {
    writeFileSync(join(dir, 'bin', 'javac'), '#!/bin/sh\n');
    chmodSync(join(dir, 'bin', 'javac'), 0o755);
  }
  return dir;
}

test('Java versions are read from `java -version` in both numbering schemes', () => {
  assert.equal(javaMajor('openjdk version "17.0.15" 2025-04-15'), 17);
  assert.equal(javaMajor('java version "1.8.0_392"'), 8);
  assert.equal(javaMajor('openjdk version "21" 2023-09-19'), 21);
  assert.equal(javaMajor('garbage'), null);
});

test('the JDK on this machine is found', async () => {
  assert.match(await findJdk(), /\/java$/);
});

test('a JRE without javac, an old Java and no Java at all are refused with what to install', async () => {
  const jre = fakeJava(join(scratch, 'jre'), '17.0.1', false);
  await assert.rejects(findJdk({ JAVA_HOME: jre, PATH: process.env.PATH }), /JRE, not a JDK.*JDK 17/);
  const old = fakeJava(join(scratch, 'old'), '11.0.2', true);
  await assert.rejects(findJdk({ JAVA_HOME: old, PATH: process.env.PATH }), /Java 11 .*needs JDK 17 or newer/);
  await assert.rejects(findJdk({ JAVA_HOME: join(scratch, 'none'), PATH: process.env.PATH }), /no Java found/);
});

test('a second install does nothing and says so', async () => {
  const lines: string[] = [];
  const config = testConfig();
  const result = await installDrill(config, (line) => lines.push(line));
  assert.deepEqual(result, { home: DRILL_DIR, installed: false });
  assert.match(lines.join('\n'), /already installed/);
  config.cleanup();
});

test('without Maven the install stops before touching anything, and says what is missing', async () => {
  const config = testConfig({ drill: { installDir: join(scratch, 'drill-nomaven') } });
  const saved = { PATH: process.env.PATH, JAVA_HOME: process.env.JAVA_HOME };
  const javaHome = (await findJdk()).replace(/\/bin\/java$/, '');
  Object.assign(process.env, { PATH: '/nonexistent', JAVA_HOME: javaHome });
  try {
    await assert.rejects(installDrill(config, () => {}), /Maven \(mvn\) is not on PATH/);
  } finally {
    process.env.PATH = saved.PATH;
    if (saved.JAVA_HOME === undefined) delete process.env.JAVA_HOME;
    else process.env.JAVA_HOME = saved.JAVA_HOME;
  }
  assert.equal(existsSync(join(scratch, 'drill-nomaven')), false);
  assert.deepEqual(readdirSync(scratch).filter((n) => n.includes('partial')), []);
  config.cleanup();
});

test('an incomplete or foreign installation is reported with the fix', async () => {
  const partial = join(scratch, 'drill-partial');
  mkdirSync(join(partial, 'jars'), { recursive: true });
  writeFileSync(join(partial, 'jars', 'drill-java-exec-1.22.0.jar'), '');
  const config = testConfig({ drill: { installDir: partial } });
  await assert.rejects(resolveRuntime(config), /incomplete installation: remove it and run `dromedar drill install` again/);
  await assert.rejects(installDrill(config, () => {}), (err: unknown) => err instanceof DromedarError && err.code === 'drill_corrupt');
  const foreign = testConfig({ drill: { home: join(scratch, 'empty') } });
  mkdirSync(join(scratch, 'empty'), { recursive: true });
  await assert.rejects(resolveRuntime(foreign), /DRILL_HOME=.*is not a Drill installation/);
  config.cleanup();
  foreign.cleanup();
});

test('a collector named in jvmOptions replaces the default G1: the JVM accepts the command line', async () => {
  const runtime = await resolveRuntime(testConfig());
  const ports = { user: 1, control: 2, data: 3, http: 4 };
  const launch = { runtime, confDir: '/nonexistent', bitDir: '/nonexistent', host: '127.0.0.1', ports, heap: '64m', directMemory: '64m', cds: false };
  for (const jvmOptions of [[], ['-XX:+UseSerialGC'], ['-XX:+UseParallelGC']]) {
    const args = drillbitArgs({ ...launch, jvmOptions });
    const flags = args.slice(0, args.indexOf('-cp')).filter((a) => a.startsWith('-X'));
    const gc = jvmOptions[0] ?? '-XX:+UseG1GC';
    assert.equal(flags.filter((f) => /^-XX:\+Use\w+GC$/.test(f)).join(' '), gc);
    const out = execFileSync(runtime.java, [...flags, '-XX:+PrintFlagsFinal', '-version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.match(out, new RegExp(`bool ${gc.slice(5)}\\s+= true`));
  }
});

test('drill.modules: the default set (UDFs and sample data), all of the distribution, none, or a list; an unknown name is an error naming the known ones', () => {
  assert.deepEqual(chosenModules('default').map((m) => coordinates(m, '1.22.0')), [
    'org.apache.drill.contrib:drill-udfs:1.21.1',
    'org.apache.drill.contrib.data:tpch-sample-data:1.21.1',
    'net.hydromatic:foodmart-data-json:0.4',
  ]);
  assert.equal(chosenModules('none').length, 0);
  assert.ok(chosenModules('all').length >= 38);
  assert.ok(chosenModules('all').some((m) => coordinates(m, '1.22.0') === 'org.apache.drill.contrib:drill-format-excel:1.22.0'));
  assert.deepEqual(chosenModules(['tpch-sample-data']).map((m) => m.name), ['tpch-sample-data']);
  assert.throws(() => chosenModules(['drill-udf']), /unknown module drill-udf; known: drill-udfs, /);
  assert.equal(testConfig().drill.modules, 'default');
});

test("the installation in use has the default modules and Drill's option catalog", async () => {
  const info = await installInfo(DRILL_DIR);
  assert.deepEqual(info?.modules, chosenModules('default').map((m) => coordinates(m, '1.22.0')), `${DRILL_DIR}: run \`dromedar drill install\``);
  const jars = readdirSync(join(DRILL_DIR, 'jars'));
  for (const jar of ['drill-java-exec-1.22.0.jar', 'drill-udfs-1.21.1.jar', 'tpch-sample-data-1.21.1.jar', 'foodmart-data-json-0.4.jar']) assert.ok(jars.includes(jar), jar);
  const installed = DrillOptionCatalog.fromInstall(DRILL_DIR);
  assert.ok((installed?.size ?? 0) > 200, 'dromedar-drill-options.json, written at install');
  // The unit tier's copy (no Drill there) is what this Drill says about its options.
  const read = (dir: string) => JSON.parse(readFileSync(join(dir, 'dromedar-drill-options.json'), 'utf8')).options as unknown[];
  assert.deepEqual(read(OPTION_CATALOG_FIXTURE_DIR), read(DRILL_DIR), 'test/fixtures/drill-1.22.0 holds the installed Drill\'s catalog');
});

test('mvn dependency:list output is read as artifacts and files', () => {
  const listed = parseDependencyList(`
The following files have been resolved:
   org.apache.drill.contrib:drill-udfs:jar:1.21.1:compile:/root/.m2/repository/org/apache/drill/contrib/drill-udfs/1.21.1/drill-udfs-1.21.1.jar
   io.netty:netty-tcnative:jar:linux-x86_64:2.0.61.Final:runtime:/m2/netty-tcnative-2.0.61.Final-linux-x86_64.jar
   junit:junit:jar:4.13:test:/m2/junit.jar
   com.google.guava:guava:jar:32.1.2-jre:compile
`);
  assert.deepEqual(listed, [
    { key: 'org.apache.drill.contrib:drill-udfs', file: '/root/.m2/repository/org/apache/drill/contrib/drill-udfs/1.21.1/drill-udfs-1.21.1.jar' },
    { key: 'io.netty:netty-tcnative:linux-x86_64', file: '/m2/netty-tcnative-2.0.61.Final-linux-x86_64.jar' },
    { key: 'com.google.guava:guava', file: null },
  ]);
});
