// rtws as a newcomer runs it: one process from `deploy/main.ts`, configured by its environment.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { apiUrlOf, spawnRtws, type RtwsProcess } from '../harness/process.ts';
import { authHeaders, observe, testEnvironment, type TestEnvironment } from '../harness/rtws.ts';
import {
  createTestDatabase,
  sharedServices,
  uniqueName,
  withDatabase,
} from '../harness/services.ts';
import { readStream } from '../harness/stream.ts';
import { connectPostgres } from '../../adapters/postgres/connect.ts';

const test = suite<{ t: TestEnvironment; children: RtwsProcess[] }>('rtws process');

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.children = [];
});
test.after(async (ctx) => {
  for (const c of ctx.children ?? []) await c.kill();
  await ctx.t?.cleanup();
});

test('it creates a missing database, serves the API, and exits 0 on SIGTERM with every change published', async (ctx) => {
  const { postgresAdminUrl } = await sharedServices();
  const dbName = uniqueName('rtws_fresh_');
  const databaseUrl = withDatabase(postgresAdminUrl, dbName);
  const p = spawnRtws({ ...ctx.t.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' });
  ctx.children.push(p);
  const admin = connectPostgres(postgresAdminUrl, { max: 1 });
  try {
    const url = await apiUrlOf(p);
    assert.is((await fetch(`${url}/readyz`)).status, 200);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${url}/customers`, {
        method: 'POST',
        headers: authHeaders(),
        body: JSON.stringify({ name: `E2E ${i}` }),
      });
      assert.is(res.status, 201);
      ids.push(((await res.json()) as { id: string }).id);
    }
    const code = await p.kill('SIGTERM');
    assert.is(code, 0, p.output());
    const fresh = connectPostgres(databaseUrl, { max: 1 });
    try {
      const [left] = await fresh<{ n: number }[]>`SELECT count(*)::int AS n FROM outbox`;
      assert.is(left!.n, 0, 'the outbox was flushed before exit');
    } finally {
      await fresh.end();
    }
    const o = await observe({ ...ctx.t, db: { ...ctx.t.db, url: databaseUrl } });
    try {
      const stream = await readStream(o.nats, ctx.t.names.streams.changes);
      for (const id of ids)
        assert.ok(
          stream.some((m) => m.message.metadata.customer_id === id),
          `customer ${id} reached the stream`,
        );
    } finally {
      await o.close();
    }
  } finally {
    await p.kill();
    await admin.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
});

test('a generated API token is shown once, in the banner, and works', async (ctx) => {
  const db = await createTestDatabase();
  const { RTWS_API_TOKEN: _, ...env } = ctx.t.env;
  const p = spawnRtws({ ...env, DATABASE_URL: db.url, RTWS_ROLES: 'api' });
  ctx.children.push(p);
  try {
    const url = await apiUrlOf(p);
    const token = /API token:\s+(\S+)/.exec(p.output())?.[1];
    assert.ok(token, 'the banner shows the generated token');
    assert.is((await fetch(`${url}/customers`)).status, 401);
    assert.is(
      (await fetch(`${url}/customers`, { headers: { authorization: `Bearer ${token}` } })).status,
      200,
    );
    assert.is(
      p.output().split(token).length - 1,
      1,
      'the token appears exactly once in the output',
    );
  } finally {
    await p.kill('SIGTERM');
    await db.drop();
  }
});

test('a bad configuration value stops startup with a message naming the variable', async (ctx) => {
  const p = spawnRtws({ ...ctx.t.env, PORT: 'eighty' });
  ctx.children.push(p);
  const code = await p.exited;
  assert.is(code, 2);
  assert.match(p.output(), /PORT/);
});

test.run();
