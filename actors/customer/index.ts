// The customer actor's public surface, for the runtime and the executors.
export {
  createCustomerMachine,
  customerMachine,
  MACHINE_VERSION,
  type CustomerContext,
  type CustomerInput,
  type CustomerMachine,
  type CustomerMachineOptions,
} from './machine.ts';
export { DEFAULT_POLICIES, knownAfterCreate, madeSinceCreate, type Policies } from './plan.ts';
export {
  decide,
  pendingApplies,
  pendingIntents,
  persist,
  replay,
  restore,
  start,
  type CustomerSnapshot,
  type Decision,
  type DueIntent,
} from './decide.ts';
export {
  CustomerEventSchema,
  CustomerFactEvent,
  RetryRequested,
  type CustomerEvent,
} from './events.ts';
export { IntentSchema, type Intent, type IntentOp } from './intents.ts';
export {
  TargetStateSchema,
  TARGET_STATUSES,
  type TargetState,
  type TargetStatus,
  type Desired,
} from './context.ts';
export { StripeIntents, type StripeIntent } from './stripe-target.ts';
export {
  SalesforceIntents,
  SALESFORCE_QUOTA_PAUSE_MS,
  type SalesforceIntent,
} from './salesforce-target.ts';
export { TARGETS, TARGET_NAMES, isTargetName, type TargetName } from './targets.ts';
export { KEY_PREFIX, createKey, updateKey } from './keys.ts';
export { writeTag } from './inbound-step.ts';
export {
  SalesforceOutcomes,
  StripeOutcomes,
  type SalesforceOutcomeEvent,
  type StripeOutcomeEvent,
  type TargetOutcome,
} from './outcomes.ts';
export {
  CatalogueApplySchema,
  RECONCILE_EVENT_PREFIX,
  StripeCustomerObserved,
  StripeCustomerMatched,
  STRIPE_CUSTOMER_EVENT_TYPES,
  type CatalogueApply,
  type InboundState,
  type RecordedConflict,
} from './inbound.ts';
export type { TargetSpec } from './target-spec.ts';
export {
  REMOTE_DELETE_POLICIES,
  SalesforceRecordMissing,
  SalesforceRecordObserved,
  type RemoteDeletePolicy,
} from './salesforce-drift.ts';
export { SalesforceRecordAdopted, SalesforceRecordChanged } from './salesforce-inbound.ts';
export { forgetTargetAccount, type PersistedCustomer } from './rebind.ts';
export { CatalogueRowObserved, RESTORE_ORIGIN } from './restore.ts';
