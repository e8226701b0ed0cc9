// The runtime's transitions (one inert scope per machine) give what XState's own pure functions
// give: the same snapshots and the same actions, step after step, over random histories of both
// machines a worker runs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { initialTransition, transition } from 'xstate';
import { pureInitialTransition, pureTransition } from '../../actors/runtime/pure-transition.ts';
import {
  createCustomerMachine,
  customerMachine,
  DEFAULT_POLICIES,
  type CustomerEvent,
  type CustomerMachine,
  type CustomerSnapshot,
} from '../../actors/customer/index.ts';
import { FAILURE_KINDS } from '../../core/policy/retry.ts';
import {
  CUSTOMER,
  FIELDS,
  T0,
  created,
  deleted,
  retryRequested,
  stripeCreated,
  stripeFailed,
  stripeUpdated,
  updated,
  type Step,
  type World,
} from './gwt.ts';

const plain = (x: unknown) => JSON.parse(JSON.stringify(x)) as unknown;
const actionsOf = (actions: readonly { type: string; params?: unknown }[]) =>
  actions.map((a) => plain({ type: a.type, params: a.params ?? null }));

/** Both ways from the same snapshot; the step goes on from XState's own result. */
function step(machine: CustomerMachine, snapshot: CustomerSnapshot, event: CustomerEvent) {
  const [theirs, theirActions] = transition(machine, snapshot, event);
  const [ours, ourActions] = pureTransition(machine, snapshot, event);
  assert.equal(
    plain(machine.getPersistedSnapshot(ours)),
    plain(machine.getPersistedSnapshot(theirs)),
  );
  assert.equal(actionsOf(ourActions), actionsOf(theirActions), event.type);
  return theirs;
}

type Kind = 'create' | 'edit' | 'delete' | 'created' | 'updated' | 'fail' | 'retry';

const history = fc.array(
  fc.record({
    kind: fc.constantFrom<Kind>('create', 'edit', 'delete', 'created', 'updated', 'fail', 'retry'),
    failure: fc.constantFrom(...FAILURE_KINDS),
    name: fc.constantFrom('Ada', 'Ada King', ' ada '),
  }),
  { maxLength: 25 },
);

function stepFor(
  kind: Kind,
  w: World,
  o: { failure: (typeof FAILURE_KINDS)[number]; name: string },
): Step | null {
  const version = (w.snapshot.context.desired?.version ?? 0) + 1;
  const pending = w.snapshot.context.targets.stripe.pending;
  switch (kind) {
    case 'create':
      return created({ name: o.name }, version);
    case 'edit':
      return updated({ ...FIELDS, name: o.name }, version);
    case 'delete':
      return deleted(version);
    case 'created':
      return pending?.op === 'create' ? stripeCreated() : null;
    case 'updated':
      return pending?.op === 'update' ? stripeUpdated() : null;
    case 'fail':
      return pending ? stripeFailed(o.failure) : null;
    case 'retry':
      return retryRequested();
  }
}

for (const [label, machine] of [
  ['Stripe only', customerMachine],
  [
    'Stripe and Salesforce',
    createCustomerMachine(DEFAULT_POLICIES, { targets: ['stripe', 'salesforce'] }),
  ],
] as const) {
  test(`the same start and the same steps as XState's own (${label})`, () => {
    const [theirs] = initialTransition(machine, { customerId: CUSTOMER });
    const [ours, actions] = pureInitialTransition(machine, { customerId: CUSTOMER });
    assert.equal(
      plain(machine.getPersistedSnapshot(ours)),
      plain(machine.getPersistedSnapshot(theirs)),
    );
    assert.equal(actions.length, 0);
    fc.assert(
      fc.property(history, (h) => {
        let w: World = { snapshot: theirs, events: [], decisions: [], now: T0 };
        for (const [i, o] of h.entries()) {
          const s = stepFor(o.kind, w, o);
          if (s === null) continue;
          const now = T0 + (i + 1) * 1_000;
          const event = s({ ...w, now });
          w = { ...w, now, snapshot: step(machine, w.snapshot, event) };
        }
      }),
      { numRuns: 60 },
    );
  });
}

test.run();
