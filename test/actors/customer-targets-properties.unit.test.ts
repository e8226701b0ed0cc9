// Properties over random histories with both targets on: random facts, random outcomes for
// either target (successes, every failure class), then a quiet period in which every call
// succeeds. Each region keeps its own invariants, both converge, and replay rebuilds the state.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { sameValue } from '../../core/canonical.ts';
import { FAILURE_KINDS, type FailureKind } from '../../core/policy/retry.ts';
import { replay, type Intent, type TargetName } from '../../actors/customer/index.ts';
import {
  CUSTOMER,
  created,
  deleted,
  stripeCreated,
  stripeDeleted,
  stripeFailed,
  stripeFound,
  stripeNotFound,
  stripeUpdated,
  updated,
  type Step,
  type World,
} from './gwt.ts';
import {
  bothMachine,
  given,
  sfCreated,
  sfDeleted,
  sfFailed,
  sfFound,
  sfNotFound,
  sfUpdated,
  when,
} from './two-targets.ts';

const TARGETS: readonly TargetName[] = ['stripe', 'salesforce'];

type Action =
  | { kind: 'edit'; name: string; bump: number }
  | { kind: 'delete' }
  | { kind: 'succeed'; target: TargetName; found: boolean }
  | { kind: 'fail'; target: TargetName; failure: FailureKind }
  | { kind: 'retry'; target: TargetName };

const target = fc.constantFrom(...TARGETS);
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('edit' as const),
      name: fc.constantFrom('Ada', 'Ada King'),
      bump: fc.integer({ min: 1, max: 2 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'delete' as const }) },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('succeed' as const), target, found: fc.boolean() }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('fail' as const),
      target,
      failure: fc.constantFrom(...FAILURE_KINDS),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('retry' as const), target }) },
);

const STRAY = { name: 'Someone', email: null, phone: null, address: null, metadata: {} };

function successFor(t: TargetName, p: Intent, found: boolean): Step {
  const sf = t === 'salesforce';
  switch (p.op) {
    case 'create':
      return sf ? sfCreated(`001${p.id}`) : stripeCreated(`cus_${p.id}`);
    case 'update':
      return sf ? sfUpdated() : stripeUpdated();
    case 'delete':
      return sf ? sfDeleted() : stripeDeleted();
    case 'find':
      if (!found) return sf ? sfNotFound() : stripeNotFound();
      return sf ? sfFound(`001${p.id}`, STRAY) : stripeFound(`cus_${p.id}`, STRAY);
    case 'fetch':
      // Only Stripe confirms a 404 by a retrieve: here it finds the customer absent.
      return (w) => ({
        type: 'StripeCustomerFetched',
        data: { intentId: p.id, fields: null, rtwsId: null, missing: true },
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
        ? created({ name: a.name }, a.bump)
        : updated({ name: a.name }, version + a.bump);
    case 'delete':
      return deleted(version + 1);
    case 'succeed': {
      const p = w.snapshot.context.targets[a.target].pending;
      return p === null ? null : successFor(a.target, p, a.found);
    }
    case 'fail':
      if (w.snapshot.context.targets[a.target].pending === null) return null;
      return a.target === 'salesforce' ? sfFailed(a.failure) : stripeFailed(a.failure);
    case 'retry':
      return (x) => ({ type: 'RetryRequested', data: { target: a.target }, at: x.now });
    default:
      throw new Error(`unknown action ${JSON.stringify(a satisfies never)}`);
  }
}

const WAITING = new Set(['pending', 'retrying', 'paused']);

function checkRegions(w: World): void {
  for (const t of TARGETS) {
    const state = w.snapshot.context.targets[t];
    assert.is(state.pending !== null, WAITING.has(state.status), `${t}: ${state.status}`);
    const region = (w.snapshot.value as Record<TargetName, string>)[t];
    assert.ok(
      region === state.status || (region === 'deletedRemotely' && state.status === 'deleted'),
    );
    assert.ok(state.status !== 'paused' || t === 'salesforce', 'only Salesforce pauses');
  }
}

function settle(w: World): World {
  let world = w;
  for (let i = 0; i < 40; i++) {
    const t = TARGETS.find((x) =>
      ['failed', 'unlinked'].includes(world.snapshot.context.targets[x].status),
    );
    if (t !== undefined)
      world = when(world, (x) => ({ type: 'RetryRequested', data: { target: t }, at: x.now }));
    const busy = TARGETS.find((x) => world.snapshot.context.targets[x].pending !== null);
    if (busy === undefined) return world;
    world = when(world, successFor(busy, world.snapshot.context.targets[busy].pending!, false));
  }
  throw new Error('did not settle');
}

test('random histories on both targets: per-region invariants, convergence, replay', () => {
  fc.assert(
    fc.property(fc.array(action, { maxLength: 30 }), (actions) => {
      let w = given();
      for (const a of actions) {
        const step = stepFor(w, a);
        if (step === null) continue;
        w = when(w, step);
        checkRegions(w);
      }
      w = settle(w);
      const desired = w.snapshot.context.desired;
      for (const t of TARGETS) {
        const state = w.snapshot.context.targets[t];
        if (desired === null) assert.is(state.status, 'new');
        else if (desired.deleted || state.deletedRemotely) assert.is(state.status, 'deleted');
        else {
          assert.is(state.status, 'synced', t);
          assert.ok(sameValue(state.known, desired.fields), `${t} holds the desired fields`);
        }
      }
      assert.equal(replay(CUSTOMER, w.events, bothMachine).context, w.snapshot.context);
    }),
    { numRuns: 100 },
  );
});

test.run();
