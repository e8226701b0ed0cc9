// A rebuild from the recorded stream equals the snapshot the live worker saved in KV, over a long
// history, even when the live actor was passivated and reloaded from KV between its messages.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestRtws, testEnvironment, type TestEnvironment } from '../harness/rtws.ts';
import { eventually } from '../harness/stream.ts';
import type { Rtws } from '../../deploy/rtws.ts';
import { rebuild } from '../../actors/runtime/rebuild.ts';
import { customerKind } from '../../actors/customer/kind.ts';
import { encodeActor } from '../../actors/customer/snapshot-codec.ts';
import { customerHistory } from '../../adapters/jetstream/customer-history.ts';
import { startTestWorker, storedActors, type TestWorker } from './fixture.ts';

const VERSIONS = 200;

const test = suite<{ t: TestEnvironment; rtws: Rtws; workers: TestWorker[] }>('runtime rebuild');

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

test(`rebuilding from ${VERSIONS} recorded versions gives the stored KV snapshot`, async (ctx) => {
  const { sql } = ctx.rtws;
  // One cached actor for two busy customers: each message evicts the other, so the live run
  // keeps reloading its state from KV.
  ctx.workers.push(await startTestWorker(ctx.t, { maxActors: 1 }));
  const ids: string[] = [];
  for (const name of ['Long', 'Other']) {
    const [row] = await sql<
      { id: string }[]
    >`INSERT INTO customers (name) VALUES (${name}) RETURNING id`;
    ids.push(row!.id);
  }
  for (let v = 2; v <= VERSIONS; v++) {
    await sql`UPDATE customers SET name = ${`Name ${v}`}, metadata = ${sql.json({ v: String(v) })} WHERE id = ANY(${ids}::uuid[])`;
  }
  await sql`UPDATE customers SET deleted_at = now() WHERE id = ${ids[1]!}`;

  const actors = await eventually(
    () => storedActors(ctx.rtws.nats, ctx.t),
    (a) =>
      a.get(ids[0]!)?.desiredVersion === VERSIONS &&
      a.get(ids[1]!)?.desiredVersion === VERSIONS + 1,
    30_000,
    250,
  );
  for (const id of ids) {
    const stored = actors.get(id);
    assert.ok(stored, `snapshot of ${id}`);
    const history = await customerHistory(ctx.rtws.nats, ctx.t.names, id);
    assert.ok(history.length >= VERSIONS, `recorded ${history.length} messages`);
    const rebuilt = encodeActor(rebuild(customerKind(), id, history));
    assert.equal(JSON.parse(JSON.stringify(rebuilt)), stored.value, `rebuild of ${id}`);
  }
  assert.is(
    actors.get(ids[1]!)!.value.snapshot.context.desired.deleted,
    true,
    'the delete was the last fact',
  );
});

test.run();
