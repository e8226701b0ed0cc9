// Given/when/then over the customer machine's pure transitions (see test/harness/given-when.ts).
import type { SyncedFields } from '../../core/customer.ts';
import type { CanonicalFields } from '../../core/canonical.ts';
import type { FailureKind } from '../../core/policy/retry.ts';
import { givenWhen, type World as GivenWhenWorld } from '../harness/given-when.ts';
import {
  customerMachine,
  decide,
  start,
  type CustomerMachine,
  type CustomerEvent,
  type CustomerSnapshot,
  type Decision,
  type Intent,
  type TargetState,
} from '../../actors/customer/index.ts';

export const CUSTOMER = '8f14e45f-ceea-467f-a0e6-0e1a3b5b4c11';
export const T0 = 1_700_000_000_000;

export type World = GivenWhenWorld<CustomerSnapshot, CustomerEvent, Decision>;

export type Step = (w: World) => CustomerEvent;

/** Given/when over one machine: the default one here, a two-target one in two-targets.ts. */
export function scenarios(machine: CustomerMachine = customerMachine) {
  return givenWhen(
    {
      start: () => start(CUSTOMER, machine),
      decide: (snapshot: CustomerSnapshot, event: CustomerEvent) =>
        decide(snapshot, event, machine),
    },
    T0,
  );
}

export const { given, when } = scenarios();

export const stripe = (w: World): TargetState => w.snapshot.context.targets.stripe;
export const intents = (w: World): Intent[] => w.decisions.flatMap((d) => d.intents);
export const pending = (w: World): Intent => {
  const p = stripe(w).pending;
  if (p === null) throw new Error('no pending Stripe intent');
  return p;
};

export const FIELDS: SyncedFields = {
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  phone: '+44 20 7946 0000',
  address: {
    line1: '12 St James Sq',
    line2: null,
    city: 'London',
    state: null,
    postal_code: 'SW1Y 4JH',
    country: 'GB',
  },
  metadata: { plan: 'gold', region: 'eu' },
};

function factStep(
  type: 'CustomerCreated' | 'CustomerUpdated' | 'CustomerDeleted',
  data: SyncedFields,
  version: number,
  at?: number,
): Step {
  return (w) => ({
    type,
    data,
    metadata: {
      customer_id: CUSTOMER,
      version,
      origin: 'api',
      outbox_id: version,
      occurred_at: new Date(w.now).toISOString(),
    },
    at: at ?? w.now,
  });
}

export const created = (fields: Partial<SyncedFields> = {}, version = 1): Step =>
  factStep('CustomerCreated', { ...FIELDS, ...fields }, version);
export const updated = (fields: Partial<SyncedFields>, version: number): Step =>
  factStep('CustomerUpdated', { ...FIELDS, ...fields }, version);
export const deleted = (version: number, fields: Partial<SyncedFields> = {}): Step =>
  factStep('CustomerDeleted', { ...FIELDS, ...fields }, version);

/**
 * A fact as a redelivery brings it: made before everything the world has seen. A fact of an old
 * version made later than the newest can only come from a catalogue restored from a backup.
 */
export const stale =
  (step: Step): Step =>
  (w) => {
    const event = step(w);
    if (!('metadata' in event)) return event;
    return { ...event, metadata: { ...event.metadata, occurred_at: new Date(T0).toISOString() } };
  };

export const stripeCreated =
  (externalId = 'cus_A1'): Step =>
  (w) => ({
    type: 'StripeCustomerCreated',
    data: { intentId: pending(w).id, externalId },
    at: w.now,
  });
/** The update's success: the pending one's, or that of `intent` (one no longer pending). */
export const stripeUpdated =
  (intent?: Intent): Step =>
  (w) => ({
    type: 'StripeCustomerUpdated',
    data: { intentId: (intent ?? pending(w)).id },
    at: w.now,
  });
export const stripeDeleted = (): Step => (w) => ({
  type: 'StripeCustomerDeleted',
  data: { intentId: pending(w).id },
  at: w.now,
});
/** The lookup's outcome; `createdMs`: when Stripe made the customer (`ours`: just now). */
export const stripeFound =
  (externalId: string, fields: CanonicalFields, createdMs?: number | 'ours'): Step =>
  (w) => ({
    type: 'StripeCustomerFound',
    data: {
      intentId: pending(w).id,
      externalId,
      fields,
      ...(createdMs === undefined ? {} : { createdMs: createdMs === 'ours' ? w.now : createdMs }),
    },
    at: w.now,
  });
export const stripeNotFound = (): Step => (w) => ({
  type: 'StripeCustomerNotFound',
  data: { intentId: pending(w).id },
  at: w.now,
});
export const stripeFailed =
  (failure: FailureKind, options: { retryAfterMs?: number; at?: number } = {}): Step =>
  (w) => ({
    type: 'StripeCallFailed',
    data: {
      intentId: pending(w).id,
      failure,
      reason: `stripe said ${failure}`,
      attempt: pending(w).attempt,
      ...(options.retryAfterMs === undefined ? {} : { retryAfterMs: options.retryAfterMs }),
    },
    at: options.at ?? w.now,
  });
export const retryRequested = (): Step => (w) => ({
  type: 'RetryRequested',
  data: { target: 'stripe' },
  at: w.now,
});
/** Replays an event already fed, as a redelivery would. */
export const again =
  (event: CustomerEvent): Step =>
  (w) => ({ ...event, at: w.now });

/** The machine's persisted form: what the runtime stores and compares. */
export function persisted(w: World): unknown {
  return JSON.parse(JSON.stringify({ value: w.snapshot.value, context: w.snapshot.context }));
}
