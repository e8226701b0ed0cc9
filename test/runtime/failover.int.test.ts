// Two workers share the partitions and never process the same one at once; when one dies without
// a word, the other takes over all of its partitions within seconds and goes on.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { randomUUID } from 'node:crypto';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';
import { eventually, waitFor } from '../harness/stream.ts';
import { partitionToken } from '../../core/subjects.ts';
import type { HandledRecord } from '../../deploy/wiring/worker/fact-handler.ts';
import { startTestWorker, storedActors, type TestWorker } from './fixture.ts';
import { fact, publishFact } from './facts.ts';

type Record = HandledRecord & { workerId: string };
interface Ctx {
  t: TestEnvironment;
  o: Observer;
  workers: TestWorker[];
  handled: Record[];
}

const LEASE_TTL_MS = 3_000;
const CUSTOMERS = 48;

const test = suite<Ctx>('runtime failover');

test.before(async (ctx) => {
  ctx.workers = [];
  ctx.handled = [];
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
});

test.after(async (ctx) => {
  for (const w of ctx.workers ?? []) await w.close();
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

async function leaseHolders(ctx: Ctx): Promise<Map<number, string>> {
  const kv = await new Kvm(jetstream(ctx.o.nats)).open(ctx.t.names.bucket('LEASES'));
  const out = new Map<number, string>();
  for (let p = 0; p < ctx.t.names.partitions; p++) {
    const entry = await kv.get(`p.${partitionToken(p)}`);
    if (entry?.operation === 'PUT') out.set(p, entry.json<{ holder: string }>().holder);
  }
  return out;
}

async function publishRound(ctx: Ctx, ids: string[], version: number): Promise<void> {
  await Promise.all(ids.map((id) => publishFact(ctx.o.nats, ctx.t.names, fact(id, version))));
}

/** Per partition, the work of different workers must never overlap in time. */
function overlaps(records: Record[]): string[] {
  const acted = records.filter((r) => r.outcome !== 'fenced');
  const found: string[] = [];
  for (const a of acted) {
    for (const b of acted) {
      if (a.partition !== b.partition || a.workerId >= b.workerId) continue;
      if (a.startedAt < b.endedAt && b.startedAt < a.endedAt)
        found.push(`p${a.partition}: #${a.seq} and #${b.seq}`);
    }
  }
  return found;
}

test('two workers split the partitions; a crashed one is replaced within seconds', async (ctx) => {
  const onHandled = (r: Record) => ctx.handled.push(r);
  const one = await startTestWorker(ctx.t, {
    workerId: 'worker-one',
    leaseTtlMs: LEASE_TTL_MS,
    onHandled,
  });
  ctx.workers.push(one);
  const ids = Array.from({ length: CUSTOMERS }, () => randomUUID());
  // The second worker joins while the first is busy: half the partitions change hands mid-stream.
  await publishRound(ctx, ids, 1);
  const two = await startTestWorker(ctx.t, {
    workerId: 'worker-two',
    leaseTtlMs: LEASE_TTL_MS,
    onHandled,
  });
  ctx.workers.push(two);
  const partitions = ctx.t.names.partitions;

  const split = await eventually(
    async () => [one.worker.stats.ownedPartitions, two.worker.stats.ownedPartitions] as const,
    ([a, b]) => a.length === partitions / 2 && b.length === partitions / 2,
    10_000,
    50,
  );
  assert.is(split[0].length, partitions / 2, 'worker one holds its fair share');
  assert.is(split[1].length, partitions / 2, 'worker two holds its fair share');
  assert.equal(
    split[0].filter((p) => split[1].includes(p)),
    [],
    'no partition is held twice',
  );
  const holders = await leaseHolders(ctx);
  for (const p of split[0]) assert.is(holders.get(p), 'worker-one', `KV names the holder of ${p}`);
  for (const p of split[1]) assert.is(holders.get(p), 'worker-two', `KV names the holder of ${p}`);

  await publishRound(ctx, ids, 2);
  await waitFor(
    () => storedActors(ctx.o.nats, ctx.t),
    (a) => ids.every((id) => a.get(id)?.desiredVersion === 2),
    15_000,
    100,
  );
  assert.ok(
    one.worker.stats.factsConsumed > 0 && two.worker.stats.factsConsumed > 0,
    'both workers did work',
  );

  // A crash: the connection goes, nothing is released.
  const crashedAt = Date.now();
  await one.nats.close();
  await publishRound(ctx, ids, 3);
  const all = await eventually(
    async () => two.worker.stats.ownedPartitions,
    (owned) => owned.length === partitions,
    LEASE_TTL_MS * 4,
    50,
  );
  const takeoverMs = Date.now() - crashedAt;
  assert.is(all.length, partitions, 'the survivor holds every partition');
  assert.ok(takeoverMs < LEASE_TTL_MS * 2 + 1_000, `takeover took ${takeoverMs} ms`);
  assert.is(
    one.worker.stats.ownedPartitions.length,
    0,
    'the cut-off worker stopped acting on its leases',
  );

  await publishRound(ctx, ids, 4);
  const actors = await eventually(
    () => storedActors(ctx.o.nats, ctx.t),
    (a) => ids.every((id) => a.get(id)?.desiredVersion === 4),
    15_000,
    100,
  );
  for (const id of ids) assert.is(actors.get(id)?.desiredVersion, 4, `${id} reached version 4`);

  assert.equal(overlaps(ctx.handled), [], 'no partition was processed by two workers at once');
  const afterCrash = ctx.handled.filter(
    (r) => r.workerId === 'worker-one' && r.outcome === 'applied' && r.endedAt > crashedAt,
  );
  assert.equal(afterCrash, [], 'the cut-off worker applied nothing after the crash');
});

test.run();
