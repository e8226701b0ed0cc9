// Given/when/then over a machine with both targets on, reusing gwt.ts's facts and Stripe steps.
import type { CanonicalFields } from '../../core/canonical.ts';
import type { FailureKind } from '../../core/policy/retry.ts';
import {
  createCustomerMachine,
  DEFAULT_POLICIES,
  type Intent,
  type TargetState,
} from '../../actors/customer/index.ts';
import { scenarios, type Step, type World } from './gwt.ts';

export const bothMachine = createCustomerMachine(DEFAULT_POLICIES, {
  targets: ['stripe', 'salesforce'],
});

export const { given, when } = scenarios(bothMachine);

export const salesforce = (w: World): TargetState => w.snapshot.context.targets.salesforce;
export const sfPending = (w: World): Intent => {
  const p = salesforce(w).pending;
  if (p === null) throw new Error('no pending Salesforce intent');
  return p;
};

export const sfCreated =
  (externalId = '001000000000001AAA'): Step =>
  (w) => ({
    type: 'SalesforceAccountCreated',
    data: { intentId: sfPending(w).id, externalId },
    at: w.now,
  });
/** The update's success: the pending one's, or that of `intent` (one no longer pending). */
export const sfUpdated =
  (intent?: Intent): Step =>
  (w) => ({
    type: 'SalesforceAccountUpdated',
    data: { intentId: (intent ?? sfPending(w)).id },
    at: w.now,
  });
export const sfDeleted = (): Step => (w) => ({
  type: 'SalesforceAccountDeleted',
  data: { intentId: sfPending(w).id },
  at: w.now,
});
export const sfFound =
  (externalId: string, fields: CanonicalFields): Step =>
  (w) => ({
    type: 'SalesforceAccountFound',
    data: { intentId: sfPending(w).id, externalId, fields },
    at: w.now,
  });
export const sfNotFound = (): Step => (w) => ({
  type: 'SalesforceAccountNotFound',
  data: { intentId: sfPending(w).id },
  at: w.now,
});
export const sfFailed =
  (failure: FailureKind, at?: number): Step =>
  (w) => ({
    type: 'SalesforceCallFailed',
    data: {
      intentId: sfPending(w).id,
      failure,
      reason: `salesforce said ${failure}`,
      attempt: sfPending(w).attempt,
    },
    at: at ?? w.now,
  });
export const sfRetryRequested = (): Step => (w) => ({
  type: 'RetryRequested',
  data: { target: 'salesforce' },
  at: w.now,
});
