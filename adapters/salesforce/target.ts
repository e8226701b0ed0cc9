// Where customers live in Salesforce, as configured (`SALESFORCE_OBJECT`,
// `SALESFORCE_EXTERNAL_ID_FIELD`, `SALESFORCE_FIELD_MAP`), and the shapes the executors share.
import type { SalesforceIntent, SalesforceOutcomeEvent } from '../../actors/customer/index.ts';
import type { ClassifiedFailure } from './classify.ts';
import { DEFAULT_ACCOUNT_FIELD_MAP, type FieldMap } from './mapper.ts';

export interface SalesforceTarget {
  /** The sObject customers map to, e.g. `Account`. */
  readonly object: string;
  /** The unique external-id field that holds our customer id, e.g. `Rtws_Id__c`. */
  readonly externalIdField: string;
  /**
   * Salesforce field → canonical value and direction (SALESFORCE_FIELD_MAP's file, read by
   * `parseFieldMap`). Default: `DEFAULT_ACCOUNT_FIELD_MAP`.
   */
  readonly fieldMap?: FieldMap;
}

/** One customer's pending intent: upserts are keyed by the customer id, which intents do not carry. */
export interface SalesforceWork {
  readonly customerId: string;
  readonly intent: SalesforceIntent;
}

export type Clock = () => number;

export function fieldMapOf(target: SalesforceTarget): FieldMap {
  return target.fieldMap ?? DEFAULT_ACCOUNT_FIELD_MAP;
}

export function failedOutcome(
  intent: SalesforceIntent,
  { failure, reason, retryAfterMs }: ClassifiedFailure,
  at: number,
): SalesforceOutcomeEvent {
  return {
    type: 'SalesforceCallFailed',
    data: {
      intentId: intent.id,
      failure,
      reason,
      attempt: intent.attempt,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    },
    at,
  };
}
