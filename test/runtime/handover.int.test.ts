// A partition given back while its calls are in flight: the next holder never calls for the same
// customer until those calls have ended. Stripe calls cannot be fenced once sent, so this is the
// one guard against two writes at once when a worker joins and the partitions are split.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import type { CustomerExecutor } from '../../actors/customer/kind.ts';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';
import { eventually } from '../harness/stream.ts';
import { startTestWorker, storedActors, type TestWorker } from './fixture.ts';
import { fact, publishFact } from './facts.ts';

const CUSTOMERS = 16;
/** Calls wait for the test, at most this long: well inside the call timeout below. */
const MAX_CALL_MS = 2_500;

interface Call {
  workerId: string;
  customer: string;
  startedAt: number;
  endedAt?: number;
}

const test = suite<{ t?: TestEnvironment; o?: Observer; workers: TestWorker[] }>(
  'partition handover',
  { workers: [] },
);

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
});
test.after(async (ctx) => {
  for (const w of ctx.workers) await w.close();
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

test('a worker joining mid-call takes its partitions only once their calls have ended', async (ctx) => {
  const t = ctx.t!;
  const calls: Call[] = [];
  let unblock!: () => void;
  const blocked = new Promise<void>((r) => (unblock = r));
  const executor = (workerId: string): CustomerExecutor => ({
    limits: { concurrency: CUSTOMERS },
    async execute(customer, intent) {
      const call: Call = { workerId, customer, startedAt: Date.now() };
      calls.push(call);
      await Promise.race([blocked, new Promise((r) => setTimeout(r, MAX_CALL_MS))]);
      call.endedAt = Date.now();
      return {
        type: 'StripeCustomerCreated',
        data: { intentId: intent.id, externalId: `cus_${customer.slice(0, 8)}` },
        at: Date.now(),
      };
    },
  });
  const start = (workerId: string) =>
    startTestWorker(t, {
      workerId,
      leaseTtlMs: 8_000,
      callTimeoutMs: MAX_CALL_MS + 500,
      executors: { stripe: executor(workerId) },
    });
  ctx.workers.push(await start('one'));
  const ids = Array.from({ length: CUSTOMERS }, () => randomUUID());
  await Promise.all(ids.map((id) => publishFact(ctx.o!.nats, t.names, fact(id, 1))));
  const inFlight = await eventually(
    async () => calls.length,
    (n) => n === CUSTOMERS,
    10_000,
    20,
  );
  assert.is(inFlight, CUSTOMERS, 'every create is in flight on worker one');

  // Worker two joins; worker one gives half its partitions back at its next round (1.6 s).
  ctx.workers.push(await start('two'));
  await new Promise((r) => setTimeout(r, 2_000));
  unblock();

  const [one, two] = ctx.workers.map((w) => w.worker);
  const split = await eventually(
    async () => [one!.stats.ownedPartitions.length, two!.stats.ownedPartitions.length],
    ([a, b]) => a! > 0 && b! > 0,
    15_000,
    50,
  );
  assert.ok(split[0]! > 0 && split[1]! > 0, `split ${split.join('/')}`);
  const actors = await eventually(
    () => storedActors(ctx.o!.nats, t),
    (a) => ids.every((id) => a.get(id)?.stripePending === undefined),
    15_000,
    100,
  );
  for (const id of ids) assert.is(actors.get(id)?.stripePending, undefined, `${id} is linked`);

  const overlapping: string[] = [];
  for (const a of calls)
    for (const b of calls)
      if (a !== b && a.customer === b.customer && a.startedAt <= b.startedAt)
        if (b.startedAt < (a.endedAt ?? Infinity))
          overlapping.push(`${a.customer}: ${a.workerId} and ${b.workerId}`);
  assert.equal(overlapping, [], 'no two calls for one customer were in flight at once');
});

test.run();
