// Outcomes: what an executor reports after carrying out an intent, fed back to the actor as an
// event named in the past tense. Each target names its events after its object
// (`StripeCustomerCreated`, `SalesforceAccountCreated`, …); the machine handles them through the
// target-neutral `TargetOutcome` form. A leaf: the events, the target specs and the targets all
// read the outcome types from here, and this imports none of them.
import { Type, type Static } from '@sinclair/typebox';
import type { FailureKind } from '../../core/policy/retry.ts';
import type { CanonicalFields } from '../../core/canonical.ts';
import { CanonicalFieldsSchema, FailureKindSchema, recordedEvent } from './schemas.ts';

const intentId = Type.String();

/**
 * One target's outcome events. `noun` names the object (`StripeCustomer`), `system` the API
 * (`Stripe`, for `StripeCallFailed`).
 */
export function targetOutcomeSchemas<const N extends string, const S extends string>(
  noun: N,
  system: S,
) {
  const Created = recordedEvent(`${noun}Created` as const, {
    intentId,
    externalId: Type.String(),
  });
  const Updated = recordedEvent(`${noun}Updated` as const, { intentId });
  const Deleted = recordedEvent(`${noun}Deleted` as const, { intentId });
  /**
   * The lookup found our object: `fields` are its canonical values on the target; `createdMs`,
   * when the target says it made it (by its clock), tells our create's own from one made before.
   */
  const Found = recordedEvent(`${noun}Found` as const, {
    intentId,
    externalId: Type.String(),
    fields: CanonicalFieldsSchema,
    createdMs: Type.Optional(Type.Number()),
  });
  const NotFound = recordedEvent(`${noun}NotFound` as const, { intentId });
  const CallFailed = recordedEvent(`${system}CallFailed` as const, {
    intentId,
    failure: FailureKindSchema,
    /** Safe to log and show: never a secret or a request body. */
    reason: Type.String(),
    /** The intent's attempt that failed; a report for an earlier attempt is a duplicate. */
    attempt: Type.Integer({ minimum: 1 }),
    /** The target's own retry hint (Retry-After), honoured as a minimum delay. */
    retryAfterMs: Type.Optional(Type.Number({ minimum: 0 })),
  });
  return {
    Created,
    Updated,
    Deleted,
    Found,
    NotFound,
    CallFailed,
    Outcome: Type.Union([Created, Updated, Deleted, Found, NotFound, CallFailed]),
  };
}

export const StripeOutcomes = targetOutcomeSchemas('StripeCustomer', 'Stripe');
export type StripeOutcomeEvent = Static<typeof StripeOutcomes.Outcome>;

export const SalesforceOutcomes = targetOutcomeSchemas('SalesforceAccount', 'Salesforce');
export type SalesforceOutcomeEvent = Static<typeof SalesforceOutcomes.Outcome>;

/** An outcome in target-neutral form. */
export type TargetOutcome =
  | { kind: 'created'; intentId: string; externalId: string; at: number }
  | { kind: 'updated'; intentId: string; at: number }
  | { kind: 'deleted'; intentId: string; at: number }
  | {
      kind: 'found';
      intentId: string;
      externalId: string;
      fields: CanonicalFields;
      createdMs?: number;
      at: number;
    }
  | { kind: 'not_found'; intentId: string; at: number }
  | {
      kind: 'failed';
      intentId: string;
      failure: FailureKind;
      reason: string;
      attempt: number;
      retryAfterMs?: number;
      at: number;
    };
