// The sandbox's database and namespace: the defaults for the first sandbox on a server, its own for
// any later one, recorded in its data dir and kept from then on.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig, type Config, type Env } from '../../core/config.ts';
import { ConfigError } from '../../core/errors.ts';
import { silentLogger } from '../../core/ports.ts';
import { connectPostgres, databaseOf } from '../../adapters/postgres/connect.ts';
import { PLACE_FILE, placeSandbox } from '../../deploy/sandbox-place.ts';
import { sharedServices } from '../harness/services.ts';

const { postgresAdminUrl: SERVER } = await sharedServices();
const admin = connectPostgres(SERVER, { max: 1 });
const dirs: string[] = [];
const databases: string[] = [];

/** A sandbox's configuration with a fresh data dir, its default database named `database`. */
async function sandbox(database: string, env: Env = {}): Promise<Config> {
  const dir = await mkdtemp(join(tmpdir(), 'rtws-place-'));
  dirs.push(dir);
  const config = loadConfig({ RTWS_DATA_DIR: dir, ...env });
  const url = new URL(SERVER);
  url.pathname = `/${database}`;
  return { ...config, databaseUrl: url.toString() };
}

async function existing(): Promise<string> {
  const name = `rtws_place_${randomBytes(4).toString('hex')}`;
  await admin.unsafe(`CREATE DATABASE "${name}"`);
  databases.push(name);
  return name;
}

test.after(async () => {
  for (const name of databases) await admin.unsafe(`DROP DATABASE IF EXISTS "${name}"`);
  await admin.end();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

test('the first sandbox on a server takes the default database, and keeps it', async () => {
  const name = `rtws_place_${randomBytes(4).toString('hex')}`;
  const config = await sandbox(name);
  const placed = await placeSandbox(config, silentLogger);
  assert.is(databaseOf(placed.databaseUrl), name);
  assert.is(placed.namespace, '');
  const recorded = JSON.parse(await readFile(join(config.dataDir, PLACE_FILE), 'utf8'));
  assert.equal(recorded, { database: name, namespace: '' });
});

test("a sandbox whose default database holds another's catalogue takes its own", async () => {
  const taken = await existing();
  const config = await sandbox(taken);
  const placed = await placeSandbox(config, silentLogger);
  const database = databaseOf(placed.databaseUrl);
  assert.match(database, new RegExp(`^${taken}_[0-9a-f]{8}$`));
  assert.match(placed.namespace, /^sandbox_[0-9a-f]{8}$/);
  assert.is(database.slice(-8), placed.namespace.slice(-8));
  assert.is(new URL(placed.databaseUrl).host, new URL(config.databaseUrl).host, 'same server');
  // The next start keeps it, though the database it chose exists by then.
  databases.push(database);
  await admin.unsafe(`CREATE DATABASE "${database}"`);
  const again = await placeSandbox(config, silentLogger);
  assert.equal([again.databaseUrl, again.namespace], [placed.databaseUrl, placed.namespace]);
});

test('a data dir from before the record keeps the default database', async () => {
  const taken = await existing();
  const config = await sandbox(taken);
  await mkdir(join(config.dataDir, 'stripe'), { recursive: true });
  const placed = await placeSandbox(config, silentLogger);
  assert.is(databaseOf(placed.databaseUrl), taken);
  assert.is(placed.namespace, '');
});

test('DATABASE_URL or RTWS_NAMESPACE set: used as they are, nothing recorded', async () => {
  const taken = await existing();
  const given: Env[] = [{ DATABASE_URL: SERVER }, { RTWS_NAMESPACE: 'mine' }];
  for (const env of given) {
    const config = await sandbox(taken, env);
    const placed = await placeSandbox(config, silentLogger);
    assert.is(placed, config);
    assert.not.ok(
      await readFile(join(config.dataDir, PLACE_FILE)).then(
        () => true,
        () => false,
      ),
    );
  }
});

test('a damaged record stops the start and names the data dir', async () => {
  const config = await sandbox('rtws');
  await mkdir(config.dataDir, { recursive: true });
  for (const text of [
    '{',
    '{"database": "", "namespace": ""}',
    '{"database": "x", "namespace": "a.b"}',
  ]) {
    await writeFile(join(config.dataDir, PLACE_FILE), text);
    const err = await placeSandbox(config, silentLogger).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.instance(err, ConfigError);
    assert.is((err as ConfigError).variable, 'RTWS_DATA_DIR');
    assert.match((err as Error).message, PLACE_FILE);
  }
});

test.run();
