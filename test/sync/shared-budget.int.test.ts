// Three workers, each with its own NATS connection, scheduler and Stripe executors (as three
// processes have), and RTWS_STRIPE_RATE=25 with no rate limit in the emulator: during a burst of
// creates, the emulator's request log never shows more than 27.5 calls a second over
// any 10-second window, and every customer converges. With a budget per process the three would
// spend 75 a second.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Env } from '../../core/config.ts';
import type { Rtws } from '../../deploy/rtws.ts';
import { startTestRtws, testEnvironment, type TestEnvironment } from '../harness/rtws.ts';
import { busiest } from '../harness/windows.ts';
import { apiClient, inPool } from './api-client.ts';
import { awaitConvergence, converged, summary } from './convergence.ts';
import { stripeSide, type StripeSide } from './stack.ts';

/** More than ten seconds of the budget: per-process budgets would send them all within 10 s. */
const CUSTOMERS = 320;
const RATE = 25;

const test = suite<{ t?: TestEnvironment; side?: StripeSide; nodes: Rtws[]; env?: Env }>(
  'one Stripe budget for three workers',
  { nodes: [] },
);
test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.side = await stripeSide();
  // Lookups before creates are paced apart: without them, every request is a budgeted call.
  const env = ctx.side.env({
    RTWS_STRIPE_RATE: String(RATE),
    RTWS_MATCH_BY: 'none',
    RTWS_STRIPE_SHARED_BUDGET: 'true',
  });
  ctx.nodes.push(await startTestRtws(ctx.t, { ...env, RTWS_ROLES: 'api,publisher' }));
  ctx.env = env;
});
test.after(async (ctx) => {
  for (const n of ctx.nodes) await n.close();
  await ctx.side?.emulator.close();
  await ctx.t?.cleanup();
});

test('a burst through three workers stays within the one budget', async (ctx) => {
  const side = ctx.side!;
  const main = ctx.nodes[0]!;
  const api = apiClient(main.url!);
  // A backlog first, so that the workers have more to send than the budget allows.
  await inPool(
    Array.from({ length: CUSTOMERS }, (_, i) => i),
    16,
    (i) => api.create({ name: `Budget ${i}`, email: `budget${i}@example.com` }),
  );
  side.emulator.clearRequests();
  const workers = await Promise.all(
    [1, 2, 3].map(() => startTestRtws(ctx.t!, { ...ctx.env, RTWS_ROLES: 'worker' })),
  );
  ctx.nodes.push(...workers);
  const report = await awaitConvergence(main.sql, side.stripe, api, 90_000);
  assert.ok(converged(report), summary(report));
  const calls = side.emulator
    .requests({ method: 'POST' })
    // rtws's writes: the test itself only lists.
    .filter((r) => r.path.startsWith('/v1/customers'))
    .map((r) => r.at)
    .sort((a, b) => a - b);
  assert.ok(calls.length >= CUSTOMERS, `${calls.length} calls made`);
  const most = busiest(calls, 10_000);
  assert.ok(most <= RATE * 10 * 1.1, `${most} calls in the busiest 10 s (at most ${RATE * 11})`);
});

test.run();
