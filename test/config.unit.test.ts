import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configWarnings, DEFAULT_FILE, loadConfig } from '../src/config/load.js';
import { dfsPlugin, workspaces } from '../src/storage/dfs.js';
import { DromedarError } from '../src/util/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'dromedar-config-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

test('the shipped config loads and confines every workspace to the data folder', () => {
  const config = loadConfig({ env: { DROMEDAR_HOME: dir } });
  assert.equal(config.sizing.qsf, 100);
  assert.equal(config.server.host, '127.0.0.1');
  assert.equal(config.server.port, 9876);
  const ws = workspaces(config);
  assert.deepEqual([...ws.keys()].sort(), ['data', 'default', 'tmp']);
  assert.equal(ws.get('default')!.root, join(dir, 'data'));
  const plugin = dfsPlugin(config) as { workspaces: Record<string, { location: string }> };
  assert.ok(Object.values(plugin.workspaces).every((w) => w.location.startsWith(dir)), 'no workspace at "/"');
  assert.ok(DEFAULT_FILE.endsWith(join('config', 'dromedar.json')));
});

test('environment and overrides win over the file, in that order', () => {
  const path = file('a.json', JSON.stringify({ server: { port: 1111 }, sizing: { qsf: 50 } }));
  const config = loadConfig({ file: path, env: { DROMEDAR_PORT: '2222', DROMEDAR_QSF: '10' }, overrides: { sizing: { qsf: 5 } } });
  assert.equal(config.server.port, 2222);
  assert.equal(config.sizing.qsf, 5);
});

test('paths in a config file are relative to the file', () => {
  const path = file('b.json', JSON.stringify({ home: 'state', dataDir: 'lake' }));
  const config = loadConfig({ file: path, env: {} });
  assert.equal(config.home, join(dir, 'state'));
  assert.equal(config.dataDir, join(dir, 'lake'));
});

for (const [name, text, pattern] of [
  ['not JSON', '{ nope', /not valid JSON/],
  ['a bad port', JSON.stringify({ server: { port: 70000 } }), /server\.port/],
  ['a bad heap size', JSON.stringify({ scheduler: { local: { heap: 'lots' } } }), /scheduler\.local\.heap: a JVM size/],
  ['no default workspace', JSON.stringify({ storage: { workspaces: { x: { location: '/x' } } } }), /default/],
  ['a negative qsf', JSON.stringify({ sizing: { qsf: -1 } }), /sizing\.qsf/],
] as const) {
  test(`an invalid config file (${name}) is one clear error`, () => {
    const path = file(`${name}.json`, text);
    assert.throws(() => loadConfig({ file: path, env: {} }), (err: unknown) => err instanceof DromedarError && pattern.test(err.message) && !err.message.includes('\n    at '));
  });
}

test('a missing config file and a non-numeric env value are clear errors', () => {
  assert.throws(() => loadConfig({ file: join(dir, 'missing.json'), env: {} }), /cannot read config file .*missing\.json: ENOENT/);
  assert.throws(() => loadConfig({ env: { DROMEDAR_PORT: 'eighty' } }), /DROMEDAR_PORT=eighty is not a number/);
});

test('pool.startTimeoutMs (two meanings) is still read, as both new settings, with a deprecation warning', () => {
  const old = loadConfig({ env: { DROMEDAR_HOME: dir }, overrides: { pool: { startTimeoutMs: 1234 } } });
  assert.equal(old.pool.queueTimeoutMs, 1234);
  assert.equal(old.pool.drillbitStartTimeoutMs, 1234);
  assert.ok(!('startTimeoutMs' in old.pool));
  assert.equal(configWarnings(old).length, 1);
  assert.match(configWarnings(old)[0]!, /^pool\.startTimeoutMs is deprecated: .*pool\.queueTimeoutMs .*pool\.drillbitStartTimeoutMs/);
  // A new key that is set wins over the old one.
  const both = loadConfig({ env: { DROMEDAR_HOME: dir }, overrides: { pool: { startTimeoutMs: 1234, queueTimeoutMs: 99 } } });
  assert.deepEqual([both.pool.queueTimeoutMs, both.pool.drillbitStartTimeoutMs], [99, 1234]);
  const marathon = loadConfig({ env: { DROMEDAR_HOME: dir }, overrides: { scheduler: { marathon: { drainTimeoutMs: 5000 } } } });
  assert.equal(marathon.pool.drainTimeoutMs, 5000);
  assert.match(configWarnings(marathon)[0]!, /^scheduler\.marathon\.drainTimeoutMs is deprecated: .*pool\.drainTimeoutMs/);
  const fresh = loadConfig({ env: { DROMEDAR_HOME: dir } });
  assert.deepEqual(configWarnings(fresh), []);
  assert.deepEqual([fresh.pool.queueTimeoutMs, fresh.pool.drillbitStartTimeoutMs, fresh.pool.recoverTimeoutMs, fresh.pool.drainTimeoutMs], [300_000, 300_000, 60_000, 900_000]);
});
