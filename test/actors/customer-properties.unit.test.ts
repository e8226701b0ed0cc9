// Properties over random histories: random facts (some stale, some repeated), random outcomes
// (successes, every failure class, stale ids), then a quiet period in which every call succeeds.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { sameValue, type CanonicalFields } from '../../core/canonical.ts';
import { FAILURE_KINDS, type FailureKind } from '../../core/policy/retry.ts';
import { replay, type CustomerEvent, type Intent } from '../../actors/customer/index.ts';
import {
  CUSTOMER,
  created,
  deleted,
  given,
  retryRequested,
  stripe,
  stripeCreated,
  stripeDeleted,
  stripeFailed,
  stripeFound,
  stripeNotFound,
  stripeUpdated,
  stale,
  updated,
  when,
  type Step,
  type World,
} from './gwt.ts';

type Action =
  | { kind: 'edit'; name: string; plan: string | null; bump: number }
  | { kind: 'stale' }
  | { kind: 'delete' }
  | { kind: 'succeed'; found: boolean }
  | { kind: 'fail'; failure: FailureKind }
  | { kind: 'staleOutcome' }
  | { kind: 'retry' };

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('edit' as const),
      name: fc.constantFrom('Ada', 'Ada King', ' ada '),
      plan: fc.constantFrom('gold', 'free', null),
      bump: fc.integer({ min: 1, max: 2 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'stale' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'delete' as const }) },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('succeed' as const), found: fc.boolean() }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('fail' as const),
      failure: fc.constantFrom(...FAILURE_KINDS),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'staleOutcome' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'retry' as const }) },
);

/** The success outcome for whatever is pending, or null when nothing is. */
function success(w: World, found: boolean): Step | null {
  const p = stripe(w).pending;
  if (p === null) return null;
  return successFor(p, found, stripe(w).known);
}

function successFor(p: Intent, found: boolean, known: CanonicalFields | null): Step {
  switch (p.op) {
    case 'create':
      return stripeCreated(`cus_${p.id}`);
    case 'update':
      return stripeUpdated();
    case 'delete':
      return stripeDeleted();
    case 'find':
      return found
        ? stripeFound(`cus_${p.id}`, {
            name: 'Someone',
            email: null,
            phone: null,
            address: null,
            metadata: { stray: 'x' },
          })
        : stripeNotFound();
    case 'fetch':
      // The retrieve that confirms a 404: still there after all, or absent (a broken link).
      return (w) => ({
        type: 'StripeCustomerFetched',
        data: {
          intentId: p.id,
          fields: found ? known : null,
          rtwsId: found ? CUSTOMER : null,
          ...(found ? {} : { missing: true }),
        },
        at: w.now,
      });
    default:
      throw new Error(`unknown op ${JSON.stringify(p satisfies never)}`);
  }
}

function stepFor(w: World, a: Action): Step | null {
  const version = w.snapshot.context.desired?.version ?? 0;
  switch (a.kind) {
    case 'edit':
      return version === 0
        ? created({ name: a.name, metadata: a.plan ? { plan: a.plan } : {} }, a.bump)
        : updated({ name: a.name, metadata: a.plan ? { plan: a.plan } : {} }, version + a.bump);
    case 'stale':
      return version > 1 ? stale(updated({ name: 'stale' }, version - 1)) : null;
    case 'delete':
      return deleted(version + 1);
    case 'succeed':
      return success(w, a.found);
    case 'fail':
      return stripe(w).pending ? stripeFailed(a.failure) : null;
    case 'staleOutcome':
      return (x) => ({ type: 'StripeCustomerUpdated', data: { intentId: 'stripe-0' }, at: x.now });
    case 'retry':
      return retryRequested();
    default:
      throw new Error(`unknown action ${JSON.stringify(a satisfies never)}`);
  }
}

/** Feeds the actions one at a time, checking the per-step invariants along the way. */
function run(actions: Action[]): World {
  let w = given();
  let deletedSeen = false;
  for (const a of actions) {
    const step = stepFor(w, a);
    if (step === null) continue;
    const before = stripe(w).pending;
    w = when(w, step);
    const event = w.events.at(-1)!;
    const [decision] = w.decisions;
    const after = stripe(w).pending;
    const status = stripe(w).status;
    assert.is(
      after !== null,
      status === 'pending' || status === 'retrying',
      `${status} vs pending`,
    );
    const region = (w.snapshot.value as { stripe: string }).stripe;
    assert.ok(region === status || (region === 'deletedRemotely' && status === 'deleted'), region);
    assert.ok((decision?.intents.length ?? 0) <= 1, 'at most one intent per target and event');
    if (before !== null && after?.id !== before.id) {
      assert.is(intentIdOf(event), before.id, 'an in-flight intent only ends with its own outcome');
    }
    if (deletedSeen || stripe(w).status === 'deleted') {
      const recorded = decision?.intents.filter((i) => i.id !== before?.id) ?? [];
      assert.not.ok(
        recorded.some((i) => i.op === 'create'),
        'no create is recorded after a delete',
      );
    }
    deletedSeen ||= w.snapshot.context.desired?.deleted === true || stripe(w).status === 'deleted';
  }
  return w;
}

function intentIdOf(event: CustomerEvent): string | null {
  return 'intentId' in event.data ? (event.data.intentId ?? null) : null;
}

/** Quiet: every call succeeds and a failed target is redriven, until nothing is pending. */
function settle(w: World): World {
  let world = w;
  for (let i = 0; i < 20; i++) {
    const target = stripe(world);
    if (target.status === 'failed' || target.status === 'unlinked')
      world = when(world, retryRequested());
    const next = success(world, false);
    if (next === null) return world;
    world = when(world, next);
  }
  throw new Error(`did not settle: ${JSON.stringify(stripe(world))}`);
}

test('random histories: one intent at a time, no create after a delete, convergence, replay', () => {
  fc.assert(
    fc.property(fc.array(action, { maxLength: 30 }), (actions) => {
      const w = settle(run(actions));
      const target = stripe(w);
      const desired = w.snapshot.context.desired;
      if (desired === null) {
        assert.is(target.status, 'new');
      } else if (desired.deleted || target.deletedRemotely) {
        assert.is(target.status, 'deleted');
      } else {
        assert.is(target.status, 'synced');
        assert.ok(sameValue(target.known, desired.fields), 'the target holds the desired fields');
        assert.is(target.syncedVersion, desired.version);
      }
      assert.equal(
        replay(CUSTOMER, w.events).context,
        w.snapshot.context,
        'replay rebuilds the snapshot',
      );
    }),
    { numRuns: 200 },
  );
});

test.run();
