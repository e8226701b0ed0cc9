// Planning: given what a target is known to hold and what is desired, record the one next intent,
// or settle the target's status when there is nothing to do.
import { canonicalMetadata, type CanonicalFields } from '../../core/canonical.ts';
import { RESERVED_METADATA_KEYS } from '../../core/customer.ts';
import { diffFields, isEmptyPatch, valuesUnder } from '../../core/policy/push.ts';
import { DEFAULT_BACKOFF, type BackoffPolicy } from '../../core/policy/backoff.ts';
import { DEFAULT_RETRY, type RetryPolicy } from '../../core/policy/retry.ts';
import type { Desired, TargetState } from './context.ts';
import type { Intent, IntentOp } from './intents.ts';
import type { TargetSpec } from './target-spec.ts';

/** The policies a machine is built with. They are part of its definition, like its code. */
export interface Policies {
  readonly retry: RetryPolicy;
  readonly backoff: BackoffPolicy;
}

export const DEFAULT_POLICIES: Policies = Object.freeze({
  retry: DEFAULT_RETRY,
  backoff: DEFAULT_BACKOFF,
});

/** What a target's step functions read besides the target's own state. */
export interface TargetEnv extends Policies {
  readonly customerId: string;
  readonly desired: Desired | null;
  readonly spec: TargetSpec;
  /** Inbound events wait for the target's current content: fetch it before anything else. */
  readonly fetchFor?: readonly string[] | null;
  /** Not before then (ms): a merge waiting for an event looks again later. */
  readonly fetchNotBefore?: number;
  /** `metadata.rtws_id` is missing on the target: the next update sets it again. */
  readonly restoreRtwsId?: boolean;
  /** The restore waits for an update with a patch: it is no call of its own (an import's). */
  readonly restoreLater?: boolean;
}

const [RTWS_ID_KEY] = RESERVED_METADATA_KEYS;

/**
 * Records the next intent, if any. A target with an intent in flight, failed, unlinked or deleted
 * waits; an unlinked one is done once the customer is deleted (there is nothing to delete there).
 */
export function plan(t: TargetState, env: TargetEnv, at: number): TargetState {
  const desired = env.desired;
  if (t.status === 'unlinked' && desired?.deleted && t.pending === null)
    return { ...t, status: 'deleted' };
  if (t.pending !== null || t.status === 'failed' || t.status === 'unlinked') return t;
  if (t.status === 'deleted' || desired === null) return t;
  if (desired.deleted) return planDelete(t, env, at);
  if (t.externalId === null) {
    if (t.createUncertain) return recordFind(t, env, at);
    // A customer born on this target exists there already: it waits for the link, never a create.
    if (desired.bornOn === env.spec.target) return t;
    return recordCreate(t, env, desired, at);
  }
  if (env.fetchFor?.length) {
    const fetch = record(t, env, at, 'fetch', null, {
      externalId: t.externalId,
      eventIds: [...env.fetchFor],
    });
    const notBefore = Math.max(at, env.fetchNotBefore ?? at);
    return { ...fetch, pending: { ...fetch.pending!, notBefore } };
  }
  const patch = diffFields(t.known, desired.fields);
  // A restore that waits for a push (an import's) goes with the next update, and is no call alone.
  if (isEmptyPatch(patch) && (!env.restoreRtwsId || env.restoreLater))
    return { ...t, status: 'synced', syncedVersion: desired.version, attempts: 0 };
  // A version pushed again gets a key of its own: Stripe would refuse other parameters under the
  // key it already saw, or replay its first answer for the same ones without applying them.
  const again = t.syncedVersion >= desired.version || t.updateKeyVersion === desired.version;
  const round = again ? t.intentSeq + 1 : 1;
  const key = env.spec.updateKey(env.customerId, desired.version, 1, round);
  const next = record(t, env, at, 'update', key, {
    externalId: t.externalId,
    patch,
    ...(t.known ? { base: valuesUnder(t.known, patch) } : {}),
    ...(env.restoreRtwsId ? { setRtwsId: env.customerId } : {}),
  });
  return { ...next, updateKeyVersion: desired.version };
}

/** Delete beats edit. A customer never created on the target needs nothing, unless a create may have landed. */
function planDelete(t: TargetState, env: TargetEnv, at: number): TargetState {
  if (t.externalId !== null)
    return record(t, env, at, 'delete', null, { externalId: t.externalId });
  if (t.createUncertain) return recordFind(t, env, at);
  return { ...t, status: 'deleted', attempts: 0 };
}

function recordCreate(t: TargetState, env: TargetEnv, desired: Desired, at: number): TargetState {
  const n = t.createKeys + 1;
  const params: CanonicalFields = {
    ...desired.fields,
    metadata: { ...desired.fields.metadata, [RTWS_ID_KEY]: env.customerId },
  };
  const next = record(t, env, at, 'create', env.spec.createKey(env.customerId, n), params);
  return { ...next, createKeys: n, createUncertain: true, lastCreateAt: at };
}

/**
 * Lists objects created since the last create was recorded, minus a margin for clock skew. `sent`:
 * the parameters of the create in doubt, when at hand.
 */
export function recordFind(
  t: TargetState,
  env: TargetEnv,
  at: number,
  sent?: CanonicalFields,
): TargetState {
  const since = Math.floor((t.lastCreateAt ?? at) / 1000) - env.retry.lookupMarginS;
  return record(t, env, at, 'find', null, {
    rtwsId: env.customerId,
    createdSince: since,
    ...(sent ? { sent } : {}),
  });
}

/** Reads the object, to confirm a 404 on an update: deleted, or a broken link. */
export function recordConfirm(
  t: TargetState,
  env: TargetEnv,
  externalId: string,
  at: number,
): TargetState {
  return record(t, env, at, 'fetch', null, { externalId, eventIds: [] });
}

/**
 * How far a target's clock may run behind ours when the twin a create made is recognised by its
 * creation time.
 */
const LANDED_SKEW_MS = 5_000;

/**
 * Whether a twin the target says it made at `createdMs` was made once the create was recorded
 * (the skew allowed): the create's own, landed by a try whose answer was lost.
 */
export function madeSinceCreate(createdMs: number, recordedAt: number): boolean {
  return createdMs >= recordedAt - LANDED_SKEW_MS;
}

/** The canonical values a successful create leaves on the target: the params without our own keys. */
export function knownAfterCreate(params: CanonicalFields): CanonicalFields {
  return { ...params, metadata: canonicalMetadata(params.metadata) };
}

type ParamsOf<O extends IntentOp> = Extract<Intent, { op: O }>['params'];

function record<O extends IntentOp>(
  t: TargetState,
  env: TargetEnv,
  at: number,
  op: O,
  key: string | null,
  params: ParamsOf<O>,
): TargetState {
  const seq = t.intentSeq + 1;
  const intent = {
    id: `${env.spec.target}-${seq}`,
    type: env.spec.intentType(op),
    target: env.spec.target,
    op,
    key,
    version: env.desired?.version ?? 0,
    attempt: 1,
    failures: 0,
    notBefore: at,
    recordedAt: at,
    params,
  } as Intent;
  return { ...t, status: 'pending', pending: intent, attempts: 0, intentSeq: seq };
}
