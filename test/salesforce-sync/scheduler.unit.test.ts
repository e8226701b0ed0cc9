// Two scheduler behaviours the Salesforce sync relies on: a retry request brings a paused intent
// forward (its id and attempt do not change, only when it is due), and stopping does not wait for
// a backlog queued behind a target's rate budget.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../core/ports.ts';
import {
  createCustomerMachine,
  decide,
  DEFAULT_POLICIES,
  pendingIntents,
  start,
  type CustomerEvent,
  type CustomerSnapshot,
  type Intent,
} from '../../actors/customer/index.ts';
import { IntentScheduler } from '../../actors/runtime/intent-scheduler.ts';
import {
  customerKind,
  type CustomerExecutor,
  type CustomerScheduler,
} from '../../actors/customer/kind.ts';

const test = suite('intent scheduler: retry requests and shutdown');
const machine = createCustomerMachine(DEFAULT_POLICIES, { targets: ['salesforce'] });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function created(id: string, at: number): CustomerSnapshot {
  const fact = {
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
  } as CustomerEvent;
  return decide(start(id, machine), fact, machine).snapshot;
}

function scheduler(calls: Intent[], perSecond?: number): CustomerScheduler {
  const salesforce: CustomerExecutor = {
    limits: { concurrency: 1, ...(perSecond ? { perSecond } : {}) },
    async execute(_customerId, intent) {
      calls.push(intent);
      await sleep(1);
      return { type: 'SalesforceAccountUpdated', data: { intentId: intent.id }, at: Date.now() };
    },
  };
  return new IntentScheduler({
    kind: customerKind(machine),
    targets: { salesforce },
    record: async () => {},
    holds: () => true,
    now: Date.now,
    log: silentLogger,
  });
}

test('a retry request runs a paused intent now, not when the pause ends', async () => {
  const now = Date.now();
  let s = created('c1', now);
  const [due] = pendingIntents(s);
  const failed = {
    type: 'SalesforceCallFailed',
    data: {
      intentId: due!.intent.id,
      failure: 'rate_limited',
      reason: 'REQUEST_LIMIT_EXCEEDED',
      attempt: due!.intent.attempt,
    },
    at: now,
  } as CustomerEvent;
  s = decide(s, failed, machine).snapshot;
  assert.is(s.context.targets.salesforce.status, 'paused');
  const calls: Intent[] = [];
  const sched = scheduler(calls);
  try {
    sched.offer('c1', s);
    await sleep(50);
    assert.is(calls.length, 0, 'paused: nothing runs yet');
    s = decide(
      s,
      { type: 'RetryRequested', data: { target: 'salesforce' }, at: Date.now() },
      machine,
    ).snapshot;
    assert.is(pendingIntents(s)[0]?.intent.id, due!.intent.id, 'the same intent');
    sched.offer('c1', s);
    await sleep(50);
    assert.is(calls.length, 1, 'brought forward');
    sched.offer('c1', s);
    await sleep(20);
    assert.is(calls.length, 1, 'offered again, run once');
  } finally {
    await sched.stop();
  }
});

test('stop does not wait for a backlog behind the rate budget', async () => {
  const calls: Intent[] = [];
  const sched = scheduler(calls, 2);
  const now = Date.now();
  for (let i = 0; i < 40; i++) sched.offer(`c${i}`, created(`c${i}`, now));
  await sleep(100);
  const t0 = Date.now();
  await sched.stop();
  assert.ok(Date.now() - t0 < 2_000, `stopped in ${Date.now() - t0} ms`);
  assert.ok(calls.length < 40, 'the backlog was not run through');
});

test.run();
