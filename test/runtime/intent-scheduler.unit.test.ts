// The intent scheduler over real actor snapshots, with recording executors and real timers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../core/ports.ts';
import {
  decide,
  pendingIntents,
  start,
  type CustomerSnapshot,
  type Intent,
  type TargetName,
} from '../../actors/customer/index.ts';
import { customerKind, type CustomerScheduler } from '../../actors/customer/kind.ts';
import {
  IntentScheduler,
  STALE_DECISION_MS,
  TAKEOVER_GRACE_MS,
  type SchedulerDeps,
} from '../../actors/runtime/intent-scheduler.ts';
import type { RecordedEvent } from '../../actors/customer/outcome-message.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function created(id: string, at = Date.now()): CustomerSnapshot {
  return decide(start(id), {
    type: 'CustomerCreated',
    data: { name: `N ${id}`, email: null, phone: null, address: null, metadata: {} },
    metadata: {
      customer_id: id,
      version: 1,
      origin: 'api',
      outbox_id: 1,
      occurred_at: new Date(at).toISOString(),
    },
    at,
  }).snapshot;
}

/** The create of `created` refused with a 429 at `at`, its retry asked for `retryAfterMs` later. */
function rateLimited(snap: CustomerSnapshot, at: number, retryAfterMs = 300): CustomerSnapshot {
  return decide(snap, {
    type: 'StripeCallFailed',
    data: {
      intentId: 'stripe-1',
      failure: 'rate_limited',
      reason: '429',
      attempt: 1,
      retryAfterMs,
    },
    at,
  }).snapshot;
}

/** The snapshot of an actor that dropped its Stripe intent, with nothing in its place. */
function withoutStripeIntent(snap: CustomerSnapshot): CustomerSnapshot {
  const { targets } = snap.context;
  return {
    ...snap,
    context: {
      ...snap.context,
      targets: { ...targets, stripe: { ...targets.stripe, pending: null } },
    },
  };
}

interface Harness {
  scheduler: CustomerScheduler;
  calls: {
    customer: string;
    intent: Intent;
    at: number;
    decidedEarlier: boolean;
    stillCallable?: (() => boolean) | undefined;
  }[];
  recorded: { customer: string; event: RecordedEvent }[];
  maxInFlight: () => number;
}

function harness(
  overrides: Partial<SchedulerDeps<CustomerSnapshot, TargetName, Intent, RecordedEvent>> & {
    callMs?: number;
    concurrency?: number;
    perSecond?: number;
  } = {},
): Harness {
  const calls: Harness['calls'] = [];
  const recorded: Harness['recorded'] = [];
  let inFlight = 0;
  let max = 0;
  const scheduler: CustomerScheduler = new IntentScheduler({
    kind: customerKind(),
    targets: {
      stripe: {
        limits: {
          concurrency: overrides.concurrency ?? 4,
          ...(overrides.perSecond ? { perSecond: overrides.perSecond } : {}),
        },
        async execute(_customerId, intent, call) {
          inFlight++;
          max = Math.max(max, inFlight);
          calls.push({
            customer:
              intent.params && 'metadata' in intent.params
                ? String((intent.params.metadata as Record<string, string>).rtws_id)
                : '?',
            intent,
            at: Date.now(),
            decidedEarlier: call.decidedEarlier,
            stillCallable: call.stillCallable,
          });
          await sleep(overrides.callMs ?? 5);
          inFlight--;
          return {
            type: 'StripeCustomerCreated',
            data: { intentId: intent.id, externalId: `cus_${intent.id}` },
            at: Date.now(),
          };
        },
      },
    },
    record:
      overrides.record ?? (async (customer, event) => void recorded.push({ customer, event })),
    holds: overrides.holds ?? (() => true),
    ...(overrides.heldSince ? { heldSince: overrides.heldSince } : {}),
    ...(overrides.refuses ? { refuses: overrides.refuses } : {}),
    now: () => Date.now(),
    log: silentLogger,
  });
  return { scheduler, calls, recorded, maxInFlight: () => max };
}

test('a pending intent runs once and its outcome is recorded; offering the same snapshot again runs nothing', async () => {
  const h = harness();
  const snap = created('c1');
  h.scheduler.offer('c1', snap);
  h.scheduler.offer('c1', snap);
  await sleep(50);
  h.scheduler.offer('c1', snap);
  await sleep(30);
  assert.is(h.calls.length, 1);
  assert.is(h.calls[0]!.intent.type, 'CreateStripeCustomer');
  assert.is(h.recorded.length, 1);
  assert.is(h.recorded[0]!.event.type, 'StripeCustomerCreated');
  await h.scheduler.stop();
});

test('an intent is not run before its notBefore', async () => {
  const h = harness();
  const t0 = Date.now();
  const snap = created('c2', t0);
  const failed = rateLimited(snap, t0);
  const dueAt = pendingIntents(failed)[0]!.dueAt;
  assert.ok(dueAt >= t0 + 300, 'the retry waits at least as long as asked');
  h.scheduler.offer('c2', failed);
  await sleep(120);
  assert.is(h.calls.length, 0, 'not yet due');
  await sleep(dueAt - Date.now() + 200);
  assert.is(h.calls.length, 1);
  assert.ok(h.calls[0]!.at >= dueAt - 5, `ran at ${h.calls[0]!.at - dueAt} ms from its due time`);
  await h.scheduler.stop();
});

test('never two calls at once for one customer and target; the newer intent runs after the outcome', async () => {
  const h = harness({ callMs: 100 });
  const t0 = Date.now();
  const snap = created('c3', t0);
  h.scheduler.offer('c3', snap);
  await sleep(20);
  // While the create runs, the actor moved on (a retry of the same intent, attempt 2).
  const retried = decide(snap, {
    type: 'StripeCallFailed',
    data: { intentId: 'stripe-1', failure: 'rate_limited', reason: '429', attempt: 1 },
    at: t0,
  }).snapshot;
  h.scheduler.offer('c3', retried);
  await sleep(40);
  assert.is(h.calls.length, 1, 'the second waits for the first');
  await sleep(2_500);
  assert.is(h.calls.length, 2);
  assert.is(h.calls[1]!.intent.attempt, 2);
  assert.is(h.maxInFlight(), 1);
  await h.scheduler.stop();
});

test('a resumed offer leaves alone the slot of an intent a step decided since, waiting or run', async () => {
  const h = harness();
  const t0 = Date.now();
  const snap = created('c-resume', t0);
  // The actor's step since the takeover: its create failed, and the retry waits 300 ms.
  const retry = rateLimited(snap, t0);
  h.scheduler.offer('c-resume', retry);
  // The resume round, reading KV behind that step, offers the first attempt.
  h.scheduler.offer('c-resume', snap, { resumed: true });
  await sleep(100);
  assert.is(h.calls.length, 0, 'the first attempt is not run in its place');
  await sleep(pendingIntents(retry)[0]!.dueAt - Date.now() + 150);
  assert.equal(
    h.calls.map((c) => c.intent.attempt),
    [2],
    'the retry runs when due',
  );
  h.scheduler.offer('c-resume', snap, { resumed: true });
  await sleep(50);
  assert.is(h.calls.length, 1, 'nor once the retry has run');
  // A customer whose slot went with the partition is offered anew.
  h.scheduler.offer('c-other', created('c-other', t0), { resumed: true });
  await sleep(50);
  assert.is(h.calls.length, 2);
  await h.scheduler.stop();
});

test('an intent the actor replaced while it waited for a call slot is not sent', async () => {
  const h = harness({ concurrency: 1, callMs: 200 });
  const t0 = Date.now();
  const linked = decide(created('c-gate', t0), {
    type: 'StripeCustomerCreated',
    data: { intentId: 'stripe-1', externalId: 'cus_gate' },
    at: t0,
  }).snapshot;
  // Postgres renames the customer: the push waits for the one call slot.
  const pushing = decide(linked, {
    type: 'CustomerUpdated',
    data: { name: 'Pushed', email: null, phone: null, address: null, metadata: {} },
    metadata: {
      customer_id: 'c-gate',
      version: 2,
      origin: 'api',
      outbox_id: 2,
      occurred_at: new Date(t0).toISOString(),
    },
    at: t0,
  }).snapshot;
  assert.is(pendingIntents(pushing)[0]?.intent.type, 'UpdateStripeCustomer');
  // Meanwhile a person renames it in the dashboard: the push is dropped for a fetch.
  const edited = decide(pushing, {
    type: 'StripeCustomerObserved',
    data: {
      eventId: 'evt_dashboard',
      eventType: 'customer.updated',
      stripeId: 'cus_gate',
      created: Math.floor(t0 / 1000) + 1,
      key: null,
      fields: { name: 'Dashboard', email: null, phone: null, address: null, metadata: {} },
      changed: ['name'],
      rtwsId: 'c-gate',
    },
    at: t0,
  }).snapshot;
  assert.is(pendingIntents(edited)[0]?.intent.type, 'FetchStripeCustomer');
  h.scheduler.offer('c-busy', created('c-busy', t0));
  await sleep(20);
  h.scheduler.offer('c-gate', pushing);
  await sleep(20);
  h.scheduler.offer('c-gate', edited);
  while (h.calls.length < 2) await sleep(20);
  await sleep(250);
  assert.equal(
    h.calls.map((c) => c.intent.type),
    ['CreateStripeCustomer', 'FetchStripeCustomer'],
    "the dropped push never goes over the person's edit",
  );

  // Dropped with nothing in its place (a read of Salesforce waits for its merge first): the same.
  const dropped = withoutStripeIntent(pushing);
  h.scheduler.offer('c-busy2', created('c-busy2', t0));
  await sleep(20);
  h.scheduler.offer('c-gate2', { ...pushing, context: { ...pushing.context } });
  await sleep(20);
  h.scheduler.offer('c-gate2', dropped);
  while (h.calls.length < 3) await sleep(20);
  await sleep(250);
  assert.equal(
    h.calls.slice(2).map((c) => c.intent.type),
    ['CreateStripeCustomer'],
    'the dropped push is not sent',
  );
  await h.scheduler.stop();
});

test('a call can ask whether it may still go out: while the lease outlives it', async () => {
  let held = true;
  const h = harness({ holds: () => held });
  h.scheduler.offer('c-lease', created('c-lease'));
  while (h.calls.length < 1) await sleep(10);
  const { stillCallable } = h.calls[0]!;
  assert.ok(stillCallable?.(), 'held');
  held = false;
  assert.not.ok(stillCallable?.(), 'no longer');
  await h.scheduler.stop();
});

test('an intent waiting for its retry is dropped with the actor dropping it', async () => {
  const h = harness();
  const t0 = Date.now();
  const failed = rateLimited(created('c-wait', t0), t0);
  const dueAt = pendingIntents(failed)[0]!.dueAt;
  h.scheduler.offer('c-wait', failed);
  const dropped = withoutStripeIntent(failed);
  h.scheduler.offer('c-wait', dropped);
  await sleep(dueAt - Date.now() + 200);
  assert.is(h.calls.length, 0, 'its timer no longer fires');
  assert.is(h.scheduler.tracked, 0, 'nor is its slot kept');
  await h.scheduler.stop();
});

test('per-target concurrency bounds calls across customers', async () => {
  const h = harness({ callMs: 40, concurrency: 2 });
  for (let i = 0; i < 8; i++) h.scheduler.offer(`k${i}`, created(`k${i}`));
  await sleep(400);
  assert.is(h.calls.length, 8);
  assert.is(h.maxInFlight(), 2);
  await h.scheduler.stop();
});

test('the per-second budget spaces calls out', async () => {
  const h = harness({ callMs: 1, perSecond: 20 });
  const t0 = Date.now();
  for (let i = 0; i < 30; i++) h.scheduler.offer(`r${i}`, created(`r${i}`));
  await sleep(1_200);
  assert.is(h.calls.length, 30);
  // A full bucket of 20 goes at once; the other 10 need about half a second more.
  assert.ok(h.calls[29]!.at - t0 >= 400, `last call at +${h.calls[29]!.at - t0} ms`);
  await h.scheduler.stop();
});

test('a customer this worker no longer holds is not called', async () => {
  const h = harness({ holds: () => false });
  h.scheduler.offer('c4', created('c4'));
  await sleep(50);
  assert.is(h.calls.length, 0);
  await h.scheduler.stop();
});

test('an actor refused (its erasure) is not scheduled, and one waiting for a slot is not sent', async () => {
  const refused = new Set(['c-erased']);
  const h = harness({ concurrency: 1, callMs: 150, refuses: (id) => refused.has(id) });
  h.scheduler.offer('c-erased', created('c-erased'));
  await sleep(30);
  assert.is(h.calls.length, 0, 'nothing scheduled');
  // Another customer's call holds the one slot; the waiting one is refused before its turn.
  h.scheduler.offer('c-busy', created('c-busy'));
  await sleep(10);
  h.scheduler.offer('c-late', created('c-late'));
  await sleep(10);
  refused.add('c-late');
  await sleep(300);
  assert.equal(
    h.calls.map((c) => c.customer),
    ['c-busy'],
  );
  assert.is(h.scheduler.busy('c-late'), false);
  // A call that asks at send time (a queued Salesforce write) hears of the refusal too.
  assert.is(h.calls[0]!.stillCallable?.(), true);
  refused.add('c-busy');
  assert.is(h.calls[0]!.stillCallable?.(), false);
  // Were a refusal lifted, the intent offered again runs: it was not taken as run.
  refused.delete('c-late');
  h.scheduler.offer('c-late', created('c-late'));
  await sleep(250);
  assert.equal(
    h.calls.map((c) => c.customer),
    ['c-busy', 'c-late'],
  );
  await h.scheduler.stop();
});

test('an outcome that cannot be recorded is retried until it is', async () => {
  let failures = 0;
  const recorded: RecordedEvent[] = [];
  const h = harness({
    record: async (_c, e) => {
      if (failures++ < 2) throw new Error('NATS unavailable');
      recorded.push(e);
    },
  });
  h.scheduler.offer('c5', created('c5'));
  await sleep(800);
  assert.is(h.calls.length, 1, 'the call is not repeated');
  assert.is(recorded.length, 1);
  assert.is(h.scheduler.counters.recordFailures, 2);
  await h.scheduler.stop();
});

test('an outcome is still recorded when the lease only looked lapsed meanwhile', async () => {
  // NATS electing a leader: the outcome cannot be stored, and the lease renewal fails too, so the
  // lease looks lapsed here. The worker keeps the partition: nobody else would run the intent.
  let held = true;
  let failures = 0;
  const recorded: RecordedEvent[] = [];
  const h = harness({
    holds: () => held,
    callMs: 20,
    record: async (_c, e) => {
      if (failures++ < 3) {
        held = false;
        throw new Error('NATS unavailable');
      }
      recorded.push(e);
    },
  });
  h.scheduler.offer('c9', created('c9'));
  await sleep(100);
  held = true;
  await sleep(1_000);
  assert.is(recorded.length, 1, 'the outcome was recorded');
  assert.is(h.calls.length, 1);
  await h.scheduler.stop();
});

test('an outcome that cannot be recorded is left to the next holder once handed over', async () => {
  const h = harness({
    callMs: 20,
    record: async () => {
      throw new Error('NATS unavailable');
    },
  });
  h.scheduler.offer('c10', created('c10'));
  await sleep(100);
  const started = Date.now();
  await h.scheduler.handOver(() => true);
  assert.ok(Date.now() - started < 6_000, 'the hand-over does not wait for NATS');
  await h.scheduler.stop();
});

test('an outcome left unrecorded at a hand-over runs again when this worker takes the partition back', async () => {
  // NATS elects a leader: the outcome cannot be recorded, and the lease lapses meanwhile. The
  // worker claims the partition again once NATS is back; its resume offers the same intent.
  let natsUp = false;
  const h = harness({
    callMs: 20,
    record: async (customer, event) => {
      if (!natsUp) throw new Error('NATS unavailable');
      h.recorded.push({ customer, event });
    },
  });
  const snap = created('c11');
  h.scheduler.offer('c11', snap);
  await sleep(100);
  assert.is(h.calls.length, 1);
  await h.scheduler.handOver(() => true);
  assert.is(h.recorded.length, 0, 'nothing recorded while NATS is away');
  natsUp = true;
  h.scheduler.offer('c11', snap, { resumed: true });
  await sleep(100);
  assert.is(h.calls.length, 2, 'the intent runs again');
  assert.is(h.calls[1]!.intent.key, h.calls[0]!.intent.key, 'under the same key');
  assert.is(h.recorded.length, 1, 'and its outcome is recorded');
  await h.scheduler.stop();
});

test('once the outcome is applied and nothing is pending, the slot is let go', async () => {
  const h = harness();
  const t0 = Date.now();
  const snap = created('c6', t0);
  h.scheduler.offer('c6', snap);
  await sleep(50);
  assert.is(h.scheduler.tracked, 1);
  const linked = decide(snap, {
    type: 'StripeCustomerCreated',
    data: { intentId: 'stripe-1', externalId: 'cus_1' },
    at: t0 + 10,
  }).snapshot;
  assert.is(pendingIntents(linked).length, 0);
  h.scheduler.offer('c6', linked);
  assert.is(h.scheduler.tracked, 0);
  await h.scheduler.stop();
});

test('an intent decided before or just after this worker took its actor, or long ago, is called as such', async () => {
  const since = Date.now() - TAKEOVER_GRACE_MS - 1_000;
  // 'old' is held since long before it was decided: only its age counts.
  const h = harness({ heldSince: (owner) => (owner === 'old' ? 0 : since) });
  h.scheduler.offer('before', created('before', since - 1_000));
  h.scheduler.offer('just-after', created('just-after', since + 1_000));
  h.scheduler.offer('after', created('after', since + TAKEOVER_GRACE_MS));
  h.scheduler.offer('old', created('old', Date.now() - STALE_DECISION_MS - 1_000));
  const resend = rateLimited(
    created('resend', since + TAKEOVER_GRACE_MS),
    since + TAKEOVER_GRACE_MS,
    0,
  );
  h.scheduler.offer('resend', resend);
  await sleep(1_500);
  const earlier = Object.fromEntries(h.calls.map((c) => [c.customer, c.decidedEarlier]));
  assert.equal(earlier, {
    before: true,
    'just-after': true,
    after: false,
    old: true,
    resend: true,
  });
  await h.scheduler.stop();
});

test('handing over waits for the calls already sent and drops what is only scheduled', async () => {
  let held = true;
  const h = harness({ callMs: 150, holds: () => held });
  const t0 = Date.now();
  h.scheduler.offer('sent', created('sent', t0));
  const later = rateLimited(created('later', t0), t0);
  h.scheduler.offer('later', later);
  await sleep(30);
  assert.is(h.calls.length, 1, 'the first call is in flight');
  held = false;
  await h.scheduler.handOver(() => true);
  assert.is(h.recorded.length, 1, 'handing over returned only once the outcome was recorded');
  assert.is(h.scheduler.tracked, 1, 'only the finished slot is left');
  await sleep(pendingIntents(later)[0]!.dueAt - Date.now() + 100);
  assert.is(h.calls.length, 1, 'the scheduled retry was dropped');
  held = true;
  h.scheduler.offer('later', later);
  await sleep(pendingIntents(later)[0]!.dueAt - Date.now() + 100);
  assert.is(h.calls.length, 2, 'held again, the same intent runs when offered');
  await h.scheduler.stop();
});

test('calls queued for a slot leave at once when their partition is handed over', async () => {
  // One slot, each call 300 ms: while the first runs, ten more wait for the slot. Handed over,
  // they must not each hold the slot through the wait for a late lease renewal (5 s): the next
  // holder runs them, and this worker's other partitions need the slot.
  let held = true;
  const h = harness({ concurrency: 1, callMs: 300, holds: () => held });
  for (let i = 0; i < 11; i++) h.scheduler.offer(`q${i}`, created(`q${i}`));
  await sleep(50);
  assert.is(h.calls.length, 1, 'one call in flight, ten queued');
  held = false;
  await h.scheduler.handOver(() => true);
  held = true;
  const t0 = Date.now();
  h.scheduler.offer('mine', created('mine'));
  // Queued behind ten 5 s waits, it would take 50 s.
  while (h.calls.length < 2 && Date.now() - t0 < 10_000) await sleep(20);
  assert.is(h.calls.length, 2, 'the new intent ran, and none of those handed over');
  assert.is(h.calls[1]!.customer, 'mine');
  await h.scheduler.stop();
});

test('an intent handed over while queued runs when its partition comes back at once', async () => {
  let held = true;
  const h = harness({ concurrency: 1, callMs: 200, holds: () => held });
  const snaps = Array.from({ length: 4 }, (_, i) => created(`b${i}`));
  snaps.forEach((s, i) => h.scheduler.offer(`b${i}`, s));
  await sleep(50);
  held = false;
  await h.scheduler.handOver(() => true);
  // Taken back before the queued calls left the gate: the resume offers the same intents.
  held = true;
  snaps.forEach((s, i) => h.scheduler.offer(`b${i}`, s));
  const t0 = Date.now();
  while (h.calls.length < 4 && Date.now() - t0 < 5_000) await sleep(20);
  assert.equal(
    h.calls.map((c) => c.customer).sort(),
    ['b0', 'b1', 'b2', 'b3'],
    'each intent ran once: the one in flight, and the three offered again',
  );
  await h.scheduler.stop();
});

test('a call waiting for its lease to be confirmed is not sent once its partition is handed over', async () => {
  // The lease looks lapsed (a renewal is late): the call waits to see it confirmed. The partition
  // is handed over meanwhile, and that hand-over does not wait for a call not yet sent.
  let held = false;
  const h = harness({ holds: () => held });
  h.scheduler.offer('late', created('late'));
  await sleep(30);
  await h.scheduler.handOver(() => true);
  held = true;
  await sleep(600);
  assert.is(h.calls.length, 0, 'the next holder sends it, not this worker');
  await h.scheduler.stop();
});

test('an intent refused for want of the lease runs when offered again once held', async () => {
  let held = false;
  const h = harness({ holds: () => held });
  const snap = created('c7');
  h.scheduler.offer('c7', snap);
  await sleep(5_300);
  assert.is(h.calls.length, 0, 'not called without the lease');
  held = true;
  h.scheduler.offer('c7', snap);
  await sleep(100);
  assert.is(h.calls.length, 1);
  await h.scheduler.stop();
});

test('an intent a step offered while its partition was going runs when the partition is resumed here', async () => {
  // The hand-over has swept the slots; a step still running on the partition offers an intent,
  // which finds no lease. Taken back, the partition's resume offers it again.
  let held = false;
  const h = harness({ holds: () => held });
  const snap = created('c12');
  await h.scheduler.handOver(() => true);
  h.scheduler.offer('c12', snap);
  await sleep(5_300);
  assert.is(h.calls.length, 0, 'not called without the lease');
  held = true;
  h.scheduler.offer('c12', snap, { resumed: true });
  await sleep(100);
  assert.is(h.calls.length, 1, 'the resume runs it');
  await h.scheduler.stop();
});

test.run();
