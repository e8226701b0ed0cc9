// NATS dies under a running worker: the worker stops acting on the leases it can no longer renew,
// and once NATS is back it reclaims its partitions and every fact reaches its actor.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { onPrivateNats, type PrivateEnvironment } from '../harness/private-environment.ts';
import { eventually, waitFor } from '../harness/stream.ts';
import { startTestWorker, storedActors, type TestWorker } from './fixture.ts';
import { fact, publishFact } from './facts.ts';

const CUSTOMERS = 24;
const LEASE_TTL_MS = 3_000;

const test = suite<{ env: PrivateEnvironment; workers: TestWorker[] }>('runtime NATS restart');

test.before(async (ctx) => {
  ctx.workers = [];
  ctx.env = await onPrivateNats();
});

test.after(async (ctx) => {
  for (const w of ctx.workers ?? []) await w.close();
  await ctx.env?.close();
});

test('the worker gives up its partitions while NATS is gone and takes them back after', async (ctx) => {
  const { server: nats, t, o } = ctx.env;
  const tw = await startTestWorker(t, { leaseTtlMs: LEASE_TTL_MS });
  ctx.workers.push(tw);
  const ids = Array.from({ length: CUSTOMERS }, () => randomUUID());
  const round = (v: number) =>
    Promise.all(ids.map((id) => publishFact(o.nats, t.names, fact(id, v))));
  await round(1);
  await waitFor(
    () => storedActors(o.nats, t),
    (a) => a.size === CUSTOMERS,
    15_000,
    100,
  );

  await nats.crash();
  const gaveUp = await eventually(
    async () => tw.worker.stats.ownedPartitions,
    (p) => p.length === 0,
    LEASE_TTL_MS * 2,
    50,
  );
  assert.equal(gaveUp, [], 'no partition is acted on past its lease deadline');
  await nats.start();

  const back = await eventually(
    async () => tw.worker.stats.ownedPartitions,
    (p) => p.length === t.names.partitions,
    LEASE_TTL_MS * 5,
    100,
  );
  assert.is(back.length, t.names.partitions, 'every partition is held again');
  await waitFor(
    () =>
      round(2).then(
        () => true,
        () => false,
      ),
    (ok) => ok,
    10_000,
    200,
  );
  const actors = await eventually(
    () => storedActors(o.nats, t),
    (a) => ids.every((id) => a.get(id)?.desiredVersion === 2),
    20_000,
    200,
  );
  for (const id of ids)
    assert.is(actors.get(id)?.desiredVersion, 2, `${id} got the fact sent after the restart`);
});

test.run();
