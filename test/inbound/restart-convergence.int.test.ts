// The two-way property through crashes: API edits whose pushes meet 429s and 5xx, SIGKILLs of the
// worker while pushes are pending, dashboard edits while it is down (their webhooks held back as
// Stripe's retries would hold them), and API edits before the restarted worker holds its
// partitions again. Once quiet, every system holds the same values, and for every field written
// on both sides at least 2 s apart, the later write is the one that stands.
// RTWS_RESTART_PROPERTY_RUNS sets the number of interleavings (default 2); fast-check prints the
// seed and path of a failure, and RTWS_PROPERTY_SEED with RTWS_PROPERTY_PATH replays one.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import type Stripe from 'stripe';
import { canonicalEmail, canonicalString } from '../../core/canonical.ts';
import { propertyOptions } from '../harness/property.ts';
import { linked, quiet, row, synced, twoWay, type TwoWay } from './stack.ts';

const test = suite<{ s: TwoWay }>('two-way convergence through crashes');
test.before(async (ctx) => {
  ctx.s = await twoWay({
    workerProcess: true,
    workerEnv: { RTWS_WORKER_ID: 'restart-property', RTWS_CATCHUP_INTERVAL_S: '2' },
  });
});
test.after(async (ctx) => {
  await ctx.s?.close();
});

const FIELDS = ['name', 'email', 'phone', 'tier'] as const;
type Field = (typeof FIELDS)[number];
type Side = 'api' | 'stripe';

type Action =
  | { kind: Side; fields: Field[]; fault?: 429 | 500 }
  | { kind: 'pause'; ms: number }
  | { kind: 'kill' }
  | { kind: 'start' };

const fields = fc.subarray([...FIELDS], { minLength: 1 });
const api: fc.Arbitrary<Action> = fc.record({
  kind: fc.constant('api' as const),
  fields,
  fault: fc.constantFrom(undefined, 429 as const, 429 as const, 500 as const),
});
const dashboard: fc.Arbitrary<Action> = fc.record({ kind: fc.constant('stripe' as const), fields });
const pause: fc.Arbitrary<Action> = fc.record({
  kind: fc.constant('pause' as const),
  ms: fc.constantFrom(0, 1_000, 2_500),
});
const edits = (max: number) =>
  fc.array(fc.oneof({ weight: 2, arbitrary: api }, { weight: 2, arbitrary: dashboard }, pause), {
    maxLength: max,
  });
/**
 * A crash cycle: edits while the worker runs (pushes meeting 429 storms or 5xx), a SIGKILL, edits
 * while it is down (dashboard edits whose webhooks Stripe holds back), a restart, and edits made
 * before the restarted worker holds its partitions again.
 */
const cycle: fc.Arbitrary<Action[]> = fc
  .tuple(edits(3), pause, edits(3), edits(2))
  .map(([up, wait, down, after]) => [
    ...up,
    wait,
    { kind: 'kill' as const },
    ...down,
    { kind: 'start' as const },
    ...after,
  ]);
const history: fc.Arbitrary<Action[]> = fc
  .array(cycle, { minLength: 1, maxLength: 2 })
  .map((cycles) => cycles.flat());

/** Per field and side, the last value written and when (ms). */
type Writes = Record<Field, Partial<Record<Side, { value: string; at: number }>>>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every write a value of its own, so the value that stands names the write that won. */
function values(side: Side, n: number, picked: readonly Field[]) {
  const v = (f: Field) => `${side}-${n}-${f}`;
  return {
    name: picked.includes('name') ? v('name') : undefined,
    email: picked.includes('email') ? `${side}-${n}@example.com` : undefined,
    phone: picked.includes('phone')
      ? `+1 555 ${side === 'api' ? 1 : 2}${String(n).padStart(3, '0')}`
      : undefined,
    tier: picked.includes('tier') ? v('tier') : undefined,
  };
}

interface Run {
  id: string;
  stripeId: string;
  writes: Writes;
  n: number;
  down: boolean;
  /** A 429 storm on the customer's updates, until the worker next starts (Stripe recovered). */
  storm: boolean;
}

async function act(s: TwoWay, r: Run, a: Action): Promise<void> {
  switch (a.kind) {
    case 'api': {
      const v = values('api', ++r.n, a.fields);
      if (a.fault === 429) r.storm = true;
      if (a.fault) s.emu.failNext(fault(r, a.fault));
      const body: Record<string, unknown> = {};
      if (v.name) body.name = v.name;
      if (v.email) body.email = v.email;
      if (v.phone) body.phone = v.phone;
      if (v.tier) body.metadata = { tier: v.tier };
      await s.api.patch(r.id, body);
      record(r, 'api', v);
      return;
    }
    case 'stripe': {
      const v = values('stripe', ++r.n, a.fields);
      const body: Stripe.CustomerUpdateParams = {};
      if (v.name) body.name = v.name;
      if (v.email) body.email = v.email;
      if (v.phone) body.phone = v.phone;
      if (v.tier) body.metadata = { tier: v.tier };
      // The faults are meant for rtws's pushes, not for the person at the dashboard.
      s.emu.clearFaults();
      await s.stripe.customers.update(r.stripeId, body);
      record(r, 'stripe', v);
      if (r.storm) s.emu.failNext(fault(r, 429));
      return;
    }
    case 'pause':
      await sleep(a.ms);
      return;
    case 'kill':
      if (r.down) return;
      await s.killWorker();
      // Stripe's deliveries to rtws fail meanwhile only in part; hold them all, as its retries would.
      s.emu.pauseWebhooks();
      r.down = true;
      return;
    case 'start':
      await start(s, r);
      return;
  }
}

function fault(r: Run, status: 429 | 500) {
  const path = `/v1/customers/${r.stripeId}`;
  return { method: 'POST', path, status, count: status === 429 ? 1_000 : 2 };
}

async function start(s: TwoWay, r: Run): Promise<void> {
  if (r.storm) s.emu.clearFaults();
  r.storm = false;
  if (!r.down) return;
  s.spawnWorker();
  r.down = false;
  // The held deliveries come once Stripe retries, some seconds later.
  setTimeout(() => s.emu.resumeWebhooks(), 3_000).unref();
}

function record(r: Run, side: Side, v: Partial<Record<Field, string>>): void {
  const at = Date.now();
  for (const f of FIELDS) {
    const value = v[f];
    if (value !== undefined) r.writes[f][side] = { value: canonical(f, value), at };
  }
}

function canonical(f: Field, value: string): string {
  if (f === 'email') return canonicalEmail(value) ?? '';
  if (f === 'phone') return canonicalString(value) ?? '';
  return value;
}

function valueOf(c: ReturnType<typeof synced>, f: Field): string | null {
  return f === 'tier' ? (c.metadata.tier ?? null) : c[f];
}

test('crashes, faults and late webhooks: converged, and the later write wins', async ({ s }) => {
  let run = 0;
  await fc.assert(
    fc.asyncProperty(history, (actions) => check(s, ++run, actions)),
    propertyOptions('RTWS_RESTART_PROPERTY_RUNS', 2),
  );
});

async function check(s: TwoWay, run: number, actions: Action[]): Promise<void> {
  const { id } = await s.api.create({
    name: `Crash ${run}`,
    email: `crash${run}@example.com`,
  });
  // A worker restarted by the previous run may still be taking its partitions back.
  const stripeId = await linked(s, id, 30_000);
  await quiet(s, 300);
  const writes = Object.fromEntries(FIELDS.map((f) => [f, {}])) as Writes;
  const r: Run = { id, stripeId, writes, n: 0, down: false, storm: false };
  try {
    for (const a of actions) await act(s, r, a);
  } finally {
    await start(s, r);
    await sleep(3_500);
    s.emu.clearFaults();
    s.emu.resumeWebhooks();
  }
  let pg = synced((await row(s, id))!);
  let st = synced((await s.stripe.customers.retrieve(stripeId)) as Stripe.Customer);
  for (let i = 0; i < 60 && JSON.stringify(pg) !== JSON.stringify(st); i++) {
    await quiet(s, 500);
    pg = synced((await row(s, id))!);
    st = synced((await s.stripe.customers.retrieve(stripeId)) as Stripe.Customer);
  }
  const told = JSON.stringify(actions);
  assert.equal(pg, st, `Postgres and Stripe differ after ${told}`);
  for (const f of FIELDS) {
    const { api, stripe } = writes[f];
    if (!api || !stripe || Math.abs(api.at - stripe.at) < 2_000) continue;
    const later = api.at > stripe.at ? api : stripe;
    const when = `api ${api.value} at ${new Date(api.at).toISOString()}, stripe ${stripe.value} at ${new Date(stripe.at).toISOString()}; holds ${valueOf(pg, f)}`;
    assert.is(
      valueOf(pg, f),
      later.value,
      `${f}: the later write (${when}) should stand after ${told}`,
    );
  }
  let mine = 0;
  for await (const c of s.stripe.customers.list({ limit: 100 }))
    if (c.metadata.rtws_id === id) mine++;
  assert.is(mine, 1, 'one Stripe customer');
}

test.run();
