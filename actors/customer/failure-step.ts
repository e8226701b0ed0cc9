// Applying a failed call: retry later, look the object up, or give up, by the operation and the
// class of the failure.
import { backoffMs } from '../../core/policy/backoff.ts';
import { countsTowardsFailure, createMayHaveLanded } from '../../core/policy/retry.ts';
import type { FailureKind } from '../../core/policy/retry.ts';
import type { TargetError, TargetState } from './context.ts';
import type { Intent } from './intents.ts';
import { withAttempt } from './keys.ts';
import type { TargetOutcome } from './outcomes.ts';
import { plan, recordConfirm, recordFind, type TargetEnv } from './plan.ts';

type Failed = Extract<TargetOutcome, { kind: 'failed' }>;

export function applyFailure(t: TargetState, env: TargetEnv, p: Intent, o: Failed): TargetState {
  const noted = { ...t, lastError: errorOf(o.failure, o, p) };
  switch (p.op) {
    case 'create':
      return createFailed(noted, env, p, o);
    case 'update':
      if (o.failure === 'not_found') return confirmGone(noted, env, p, o);
      // The event that moved the target has been decided meanwhile: its fetch goes first.
      if (o.failure === 'target_moved' && env.fetchFor?.length)
        return plan(abandon(noted), env, o.at);
      return o.failure === 'permanent'
        ? fail(noted, env, p, o.failure, o)
        : retry(noted, env, p, o);
    case 'delete':
      // Already deleted is done.
      if (o.failure === 'not_found')
        return { ...noted, status: 'deleted', pending: null, attempts: 0, lastError: null };
      return o.failure === 'permanent'
        ? fail(noted, env, p, o.failure, o)
        : retry(noted, env, p, o);
    case 'find':
    case 'fetch':
      return o.failure === 'permanent' || o.failure === 'not_found'
        ? fail(noted, env, p, o.failure, o)
        : retry(noted, env, p, o);
    default:
      return unreachable(p);
  }
}

/**
 * A create is never resent blindly. After a 5xx answer (the request ran) the object is looked up.
 * After a timeout, a lost connection, a 409 or a 429 the same key is resent: Stripe answers with
 * the first request's result, or 409 while it still runs, or runs it once. A lookup at that point
 * could miss a create still in flight, and a new key would then make a second customer.
 */
function createFailed(t: TargetState, env: TargetEnv, p: Intent, o: Failed): TargetState {
  if (env.spec.createIsUpsert === true) return upsertFailed(t, env, p, o);
  const sent = p.op === 'create' ? p.params : undefined;
  if (createMayHaveLanded(o.failure)) return recordFind({ ...t, pending: null }, env, o.at, sent);
  if (o.failure === 'rate_limited' || o.failure === 'transient' || o.failure === 'no_response') {
    // A try that may have run keeps the create uncertain until it is settled; if every try so
    // far was refused before it ran, a customer deleted meanwhile needs no create at all.
    const mayHaveRun = p.attempt > 1 || o.failure !== 'rate_limited';
    if (env.desired?.deleted && !mayHaveRun)
      return plan(abandon({ ...t, createUncertain: false }), env, o.at);
    // Stripe forgets keys after 24 h: past that, a resend could create a second customer.
    if (o.at - p.recordedAt > env.retry.lookupAfterMs)
      return recordFind({ ...t, pending: null }, env, o.at, sent);
    return retry(t, env, p, o);
  }
  // Refused for good, but an earlier try of it may have run (a resend refused once a key was
  // rotated): the next create looks the customer up first, as after a 5xx.
  return fail({ ...t, createUncertain: p.attempt > 1 }, env, p, o.failure, o);
}

/**
 * An upsert by our id is resent as it is: it cannot create twice. An earlier try may still have
 * landed, so `createUncertain` stays set until a success, and a delete in the meantime looks the
 * object up; a first try that was refused made nothing.
 */
function upsertFailed(t: TargetState, env: TargetEnv, p: Intent, o: Failed): TargetState {
  if (o.failure === 'permanent' || o.failure === 'not_found')
    return fail({ ...t, createUncertain: p.attempt > 1 }, env, p, o.failure, o);
  if (env.desired?.deleted) return plan(abandon(t), env, o.at);
  return retry(t, env, p, o);
}

function retry(t: TargetState, env: TargetEnv, p: Intent, o: Failed): TargetState {
  // An update of a customer deleted meanwhile is moot: go on with the delete.
  if (p.op === 'update' && env.desired?.deleted) return plan(abandon(t), env, o.at);
  const failures = p.failures + (countsTowardsFailure(o.failure) ? 1 : 0);
  if (failures >= env.retry.maxFailures) return fail(t, env, p, 'exhausted', o);
  const attempt = p.attempt + 1;
  // A target that pauses on a spent quota pauses for as long as its adapter was configured to
  // say (recorded in the outcome, so a replay waits the same), else for the spec's default.
  const pause =
    o.failure === 'rate_limited' && env.spec.quotaPauseMs !== undefined
      ? (o.retryAfterMs ?? env.spec.quotaPauseMs)
      : undefined;
  const delay = Math.max(
    o.retryAfterMs ?? 0,
    backoffMs(p.attempt, p.key ?? p.id, env.backoff),
    pause ?? 0,
  );
  const next: Intent = {
    ...p,
    attempt,
    failures,
    notBefore: o.at + delay,
    key: resendKey(p, o.failure, attempt),
  };
  const status = pause === undefined ? 'retrying' : 'paused';
  return { ...t, status, pending: next, attempts: failures };
}

/**
 * Updates rotate their key after a 5xx (see `updateKey`); a 429 was never saved, and a held push
 * was never sent, so those keep their key.
 */
function resendKey(p: Intent, failure: FailureKind, attempt: number): string | null {
  if (p.op !== 'update' || failure === 'rate_limited' || failure === 'target_moved') return p.key;
  if (p.key === null) return p.key;
  return withAttempt(p.key, attempt);
}

/**
 * Gives the intent up. When a newer fact arrived meanwhile, the target goes straight on with it,
 * as it would have had the fact arrived after the failure.
 */
function fail(
  t: TargetState,
  env: TargetEnv,
  p: Intent,
  failure: TargetError['failure'],
  o: Failed,
): TargetState {
  const failed: TargetState = {
    ...t,
    status: 'failed',
    pending: null,
    attempts: p.failures + (countsTowardsFailure(o.failure) ? 1 : 0),
    lastError: errorOf(failure, o, p),
  };
  const newer = env.desired !== null && env.desired.version > p.version;
  return newer ? plan(reopen(failed), env, o.at) : failed;
}

/** Drops the pending intent; the next plan decides from scratch. */
function abandon(t: TargetState): TargetState {
  return { ...t, pending: null, attempts: 0, status: t.externalId === null ? 'new' : 'synced' };
}

/** Lets a failed target plan again, keeping the last error visible. */
export function reopen(t: TargetState): TargetState {
  if (t.status !== 'failed') return t;
  return { ...t, status: t.externalId === null ? 'new' : 'synced', attempts: 0 };
}

/**
 * A 404 on an update is not a deletion: a key for another account, or an object purged, answer
 * the same. A target that can retrieve the object (Stripe) confirms it first: deleted there means
 * deleted, absent means a broken link. One that cannot is unlinked at once.
 */
function confirmGone(t: TargetState, env: TargetEnv, p: Intent, o: Failed): TargetState {
  if (t.externalId !== null && env.spec.confirmsByFetch)
    return recordConfirm({ ...t, pending: null }, env, t.externalId, o.at);
  return unlinked(t, p, o.at, `${o.reason}; the link is broken and nothing was deleted`);
}

/** The link points at nothing on the target: reported (a DLQ letter), and nothing is deleted. */
export function unlinked(t: TargetState, p: Intent, at: number, reason: string): TargetState {
  return {
    ...t,
    status: 'unlinked',
    pending: null,
    attempts: 0,
    lastError: { failure: 'not_found', reason, at, intent: p },
  };
}

function errorOf(failure: TargetError['failure'], o: Failed, p: Intent): TargetError {
  return { failure, reason: o.reason, at: o.at, intent: p };
}

function unreachable(value: never): never {
  throw new Error(`unhandled intent ${JSON.stringify(value)}`);
}
