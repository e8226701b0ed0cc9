// Salesforce errors, sorted into the failure kinds the actor's retry policy understands. jsforce
// turns Salesforce's error array into an error named after its `errorCode`; a body it could not
// parse becomes `ERROR_HTTP_<status>`; a network failure, a timeout or a failed session refresh
// carries no code at all.
import type { FailureKind } from '../../core/policy/retry.ts';

export interface ClassifiedFailure {
  failure: FailureKind;
  /** Safe to log and show: Salesforce's code and message, never a field value or a token. */
  reason: string;
  /** How soon to try again, where the failure says (rtws's own budget refusing a call). */
  retryAfterMs?: number;
}

/** Contention or an outage on Salesforce's side: the same request can succeed later. */
const TRANSIENT_CODES = new Set([
  'UNABLE_TO_LOCK_ROW',
  'SERVER_UNAVAILABLE',
  'UNKNOWN_EXCEPTION',
  'REQUEST_RUNNING_TOO_LONG',
  'QUERY_TIMEOUT',
  // Still rejected after jsforce ran the grant again: an outage of the login service or a
  // revoked session mid-flight, not something the record's data can fix.
  'INVALID_SESSION_ID',
]);

/** Already deleted is done on a delete; on a lookup it means absent. */
const GONE_CODES = new Set(['NOT_FOUND', 'ENTITY_IS_DELETED']);

/**
 * The org's API budget (daily, or concurrent long requests) is spent, or rtws's share of it
 * (`RTWS_DAILY_BUDGET_SPENT`, a call refused before it was sent): the target pauses.
 */
const QUOTA_CODES = new Set(['REQUEST_LIMIT_EXCEEDED', 'RTWS_DAILY_BUDGET_SPENT']);

const MAX_REASON = 500;

interface SalesforceLikeError {
  errorCode?: unknown;
  name?: unknown;
  message?: unknown;
  retryAfterMs?: unknown;
}

export function classifySalesforceError(err: unknown): ClassifiedFailure {
  const e = (err ?? {}) as SalesforceLikeError;
  const code = typeof e.errorCode === 'string' ? e.errorCode : undefined;
  const message = typeof e.message === 'string' ? e.message : undefined;
  const classified = classifyCode(
    code,
    message ?? (typeof e.name === 'string' ? e.name : undefined),
  );
  return typeof e.retryAfterMs === 'number'
    ? { ...classified, retryAfterMs: e.retryAfterMs }
    : classified;
}

/**
 * What a log line may say of a failed Salesforce call: a refusal by its code alone (its message may
 * quote the record's values: a validation rule's, say), anything else (the connection, a timeout)
 * as it is.
 */
export function loggableSalesforceError(err: unknown): string {
  const code = (err as SalesforceLikeError | null)?.errorCode;
  return typeof code === 'string' ? `Salesforce refused the request: ${code}` : String(err);
}

/** Also for the per-record errors of a collections call (`statusCode` there). */
export function classifyCode(
  code: string | undefined,
  message: string | undefined,
): ClassifiedFailure {
  const reason = [code, message].filter(Boolean).join(': ').slice(0, MAX_REASON);
  return { failure: kindOf(code), reason: reason || 'unknown Salesforce error' };
}

function kindOf(code: string | undefined): FailureKind {
  // No code: the connection failed, timed out, or the session could not be renewed. Every
  // Salesforce write rtws makes is an upsert by our id, an update by Id or a delete, so a resend
  // is harmless.
  if (code === undefined) return 'transient';
  if (GONE_CODES.has(code)) return 'not_found';
  if (QUOTA_CODES.has(code)) return 'rate_limited';
  if (TRANSIENT_CODES.has(code)) return 'transient';
  const status = /^ERROR_HTTP_(\d{3})$/.exec(code)?.[1];
  if (status !== undefined) return httpKind(Number(status));
  // REQUIRED_FIELD_MISSING, INVALID_FIELD, FIELD_CUSTOM_VALIDATION_EXCEPTION, DUPLICATE_VALUE, …:
  // the request itself is wrong, and only a newer fact or an operator can change it.
  return 'permanent';
}

function httpKind(status: number): FailureKind {
  if (status === 429) return 'rate_limited';
  if (status === 404) return 'not_found';
  if (status >= 500 || status === 408) return 'transient';
  return 'permanent';
}
