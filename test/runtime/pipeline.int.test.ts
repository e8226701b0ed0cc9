// Facts published through the real capture pipeline end up as actor snapshots in KV, at the
// customer's latest version, with the Stripe create recorded as a pending intent.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestRtws, testEnvironment, type TestEnvironment } from '../harness/rtws.ts';
import { eventually } from '../harness/stream.ts';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { Rtws } from '../../deploy/rtws.ts';
import { partitionToken } from '../../core/subjects.ts';
import { startTestWorker, storedActors, type TestWorker } from './fixture.ts';

const CUSTOMERS = 200;

const test = suite<{ t: TestEnvironment; rtws: Rtws; workers: TestWorker[] }>('runtime pipeline');

test.before(async (ctx) => {
  ctx.workers = [];
  ctx.t = await testEnvironment();
  ctx.rtws = await startTestRtws(ctx.t, { RTWS_ROLES: 'publisher' });
});

test.after(async (ctx) => {
  for (const w of ctx.workers ?? []) await w.close();
  await ctx.rtws?.close();
  await ctx.t?.cleanup();
});

test('200 customers become KV snapshots at their Postgres version with a Stripe create pending', async (ctx) => {
  const { sql } = ctx.rtws;
  ctx.workers.push(await startTestWorker(ctx.t, { concurrency: 16, maxActors: 50, idleMs: 1_000 }));
  const rows = await sql<{ id: string }[]>`
    INSERT INTO customers (name, email)
    SELECT 'Customer ' || g, 'c' || g || '@example.com' FROM generate_series(1, ${CUSTOMERS}) g
    RETURNING id`;
  // A few more versions for some of them, so the latest version is what must win.
  for (const [i, row] of rows.entries()) {
    if (i % 4 === 0) await sql`UPDATE customers SET name = ${`Renamed ${i}`} WHERE id = ${row.id}`;
    if (i % 8 === 0) await sql`UPDATE customers SET phone = '+15550100' WHERE id = ${row.id}`;
  }
  const versions = new Map(
    (await sql<{ id: string; version: number }[]>`SELECT id, version FROM customers`).map((r) => [
      r.id,
      r.version,
    ]),
  );

  const settled = (actors: Awaited<ReturnType<typeof storedActors>>) =>
    actors.size === CUSTOMERS &&
    [...versions].every(([id, v]) => actors.get(id)?.desiredVersion === v);
  const actors = await eventually(() => storedActors(ctx.rtws.nats, ctx.t), settled, 30_000, 250);

  assert.is(actors.size, CUSTOMERS);
  for (const [id, version] of versions) {
    const actor = actors.get(id);
    assert.ok(actor, `snapshot for ${id}`);
    assert.is(actor.desiredVersion, version, `desired version of ${id}`);
    assert.is(actor.stripePending, 'CreateStripeCustomer', `pending intent of ${id}`);
    assert.is(actor.value.snapshot.context.customerId, id);
  }
  const stats = ctx.workers[0]!.worker.stats;
  assert.is(
    stats.ownedPartitions.length,
    ctx.t.names.partitions,
    'a lone worker holds every partition',
  );
  assert.ok(stats.factsConsumed >= CUSTOMERS, `facts consumed: ${stats.factsConsumed}`);
  assert.is(stats.deadLettered, 0);
  assert.ok(stats.cachedActors <= 50, `memory is bounded: ${stats.cachedActors} actors cached`);
});

test('idle actors are passivated, and a clean stop frees every lease at once', async (ctx) => {
  const tw = ctx.workers[0]!;
  const idle = await eventually(
    async () => tw.worker.stats,
    (s) => s.cachedActors === 0 && s.activeActors === 0,
    5_000,
    100,
  );
  assert.is(idle.cachedActors, 0, 'idle actors left memory');
  await tw.worker.stop();
  assert.equal(tw.worker.stats.ownedPartitions, []);
  const kv = await new Kvm(jetstream(ctx.rtws.nats)).open(ctx.t.names.bucket('LEASES'));
  for (let p = 0; p < ctx.t.names.partitions; p++) {
    const entry = await kv.get(`p.${partitionToken(p)}`);
    assert.not.ok(entry?.operation === 'PUT', `partition ${p} is free`);
  }
});

test.run();
