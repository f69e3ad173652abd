// The dromedar command as a user runs it: `up` in the foreground, `query`, `plan` and
// `status` against it, Ctrl-C (SIGINT) stopping everything, and one-line errors.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cliEnv, dromedar as run, startUp, type Up } from './support/cli.js';
import { jvmsMentioning, testConfig } from './support/env.js';

const config = testConfig();
const env = cliEnv(config.home);
const SALES = 'region,amount\nnorth,10\nsouth,32\n';
const dromedar = (...args: string[]) => run(env, ...args);

describe('the dromedar command', () => {
  let up: Up;
  let url = '';

  before(async () => {
    mkdirSync(join(config.dataDir, 'sales'), { recursive: true });
    writeFileSync(join(config.dataDir, 'sales', 's.csvh'), SALES);
    up = await startUp(env, '--idle-timeout', '600000');
    url = up.url;
  });

  after(() => {
    if (up.child.exitCode === null) up.child.kill('SIGKILL');
    const left = jvmsMentioning(config.home);
    config.cleanup();
    assert.deepEqual(left, [], 'no JVM outlives dromedar up');
  });

  test('query prints rows and the sizing decision; status shows the Drillbit', () => {
    const result = dromedar('query', '--url', url, '--format', 'csv', 'SELECT region, amount FROM dfs.data.`sales` ORDER BY region');
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, 'region,amount\nnorth,10\nsouth,32\n');
    assert.match(result.stderr, /sized: 0\.0 MiB read at QSF 100 -> 1 Drillbit\(s\)/);
    const status = dromedar('status', '--url', url);
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, /ONLINE/);
  });

  test('plan sizes without a gateway', () => {
    const result = dromedar('plan', '--json', 'SELECT * FROM dfs.data.`sales`');
    assert.equal(result.status, 0, result.stderr);
    const plan = JSON.parse(result.stdout) as { bytes: number; drillbits: number; parsed: boolean };
    assert.deepEqual([plan.bytes, plan.drillbits, plan.parsed], [SALES.length, 1, true]);
  });

  test('mistakes are one readable line and exit code 1', () => {
    for (const [args, pattern] of [
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['query'], /give the SQL as an argument/],
      [['query', '--url', 'http://127.0.0.1:1', 'SELECT 1'], /no gateway at http:\/\/127\.0\.0\.1:1/],
      [['query', '--url', url, '--format', 'xml', 'SELECT 1'], /--format must be table, json or csv/],
      [['query', '--url', url, '--qsf', '0', 'SELECT 1'], /400 invalid_qsf/],
      [['up', '--port', 'eighty'], /--port must be a number/],
      [['status', '--bogus'], /Unknown option '--bogus'/],
    ] as [string[], RegExp][]) {
      const result = dromedar(...args);
      assert.equal(result.status, 1, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, pattern);
      assert.equal(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
    }
    assert.equal(dromedar('--help').status, 0);
    for (const command of ['up', 'query', 'plan', 'status', 'demo', 'drill install']) {
      const help = dromedar(...command.split(' '), '--help');
      assert.equal(help.status, 0);
      assert.match(help.stdout, new RegExp(`Usage: dromedar ${command}`));
    }
  });

  test('Ctrl-C stops the gateway, its Drillbits and ZooKeeper', async () => {
    assert.ok(jvmsMentioning(config.home).length >= 2, 'a Drillbit and ZooKeeper run');
    up.child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => up.child.once('exit', resolve));
    assert.equal(code, 0, up.output());
    assert.deepEqual(jvmsMentioning(config.home), []);
  });
});
