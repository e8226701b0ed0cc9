// Applying an executor's outcome to its target. Only the outcome of the pending intent counts, and
// that of an update superseded while it was on its way (`superseded.ts`): anything else is a stale
// or duplicate report and changes nothing.
import { applyPatch } from '../../core/policy/push.ts';
import type { CanonicalFields } from '../../core/canonical.ts';
import type { TargetState } from './context.ts';
import type { Intent } from './intents.ts';
import type { TargetOutcome } from './outcomes.ts';
import { applyFailure } from './failure-step.ts';
import { knownAfterCreate, madeSinceCreate, plan, type TargetEnv } from './plan.ts';
import { onSupersededOutcome, supersededOf } from './superseded.ts';

const OUTCOME_OPS: Record<Exclude<TargetOutcome['kind'], 'failed'>, Intent['op']> = {
  created: 'create',
  updated: 'update',
  deleted: 'delete',
  found: 'find',
  not_found: 'find',
};

/** Whether the outcome's update (the pending one, or one superseded on its way) set `rtws_id`. */
export function restoredRtwsId(t: TargetState, o: TargetOutcome): boolean {
  if (o.kind !== 'updated') return false;
  const p = t.pending;
  const update = p?.id === o.intentId ? p : supersededOf(t, o)?.update;
  return update?.op === 'update' && !!update.params.setRtwsId;
}

/**
 * Whether the outcome reports on the pending intent (and, for failures, on its current attempt),
 * or on an update superseded on its way (`supersededOf`).
 */
export function acceptsOutcome(t: TargetState, o: TargetOutcome): boolean {
  if (supersededOf(t, o)) return true;
  const p = t.pending;
  if (p === null || p.id !== o.intentId) return false;
  if (o.kind === 'failed') return o.attempt === p.attempt;
  return OUTCOME_OPS[o.kind] === p.op;
}

export function applyOutcome(t: TargetState, env: TargetEnv, o: TargetOutcome): TargetState {
  if (supersededOf(t, o)) {
    // A target read back by a fetch (Stripe) is settled by the fetch that follows; an intent
    // pending now (that fetch, or the push decided again) is left as it is.
    const next = onSupersededOutcome(t, o, !env.spec.confirmsByFetch);
    const landed = o.kind === 'updated' ? { ...next, watermarks: pushed(t, o.at) } : next;
    return plan(landed, env, o.at);
  }
  const p = t.pending;
  if (p === null || !acceptsOutcome(t, o)) return t;
  switch (o.kind) {
    case 'created':
      return p.op === 'create'
        ? plan(linked(t, o.externalId, knownAfterCreate(p.params), o.at), env, o.at)
        : t;
    case 'found': {
      // Our create's own object (made once the create was recorded) holds what the create sent.
      // What it holds besides is someone's edit made since, which reaches the catalogue as an
      // event does (its event, held until the link, is merged from a fetch): taken as known, it
      // would be pushed over. An object made before (stamped with our id by a match or an import)
      // is known as it is found, and the catalogue's values are pushed over it.
      const sent = p.op === 'find' ? p.params.sent : undefined;
      const ours =
        sent !== undefined &&
        o.createdMs !== undefined &&
        t.lastCreateAt !== null &&
        madeSinceCreate(o.createdMs, t.lastCreateAt);
      const known = ours ? knownAfterCreate(sent) : o.fields;
      return plan({ ...linked(t, o.externalId, known, null), createUncertain: false }, env, o.at);
    }
    case 'not_found':
      return plan({ ...settled(t), createUncertain: false }, env, o.at);
    case 'updated':
      return p.op === 'update' && t.known !== null
        ? plan(
            {
              ...settled(t),
              known: applyPatch(t.known, p.params.patch),
              watermarks: pushed(t, o.at),
            },
            env,
            o.at,
          )
        : t;
    case 'deleted':
      return { ...settled(t), status: 'deleted', watermarks: pushed(t, o.at) };
    case 'failed':
      return applyFailure(t, env, p, o);
    default:
      return unreachable(o);
  }
}

function linked(
  t: TargetState,
  externalId: string,
  known: CanonicalFields,
  pushAt: number | null,
): TargetState {
  return {
    ...settled(t),
    externalId,
    known,
    createUncertain: false,
    watermarks: pushAt === null ? t.watermarks : pushed(t, pushAt),
  };
}

/** The pending intent is done; the status is settled by the next plan. */
function settled(t: TargetState): TargetState {
  return {
    ...t,
    pending: null,
    attempts: 0,
    lastError: null,
    status: t.externalId === null ? 'new' : 'synced',
  };
}

function pushed(t: TargetState, at: number): TargetState['watermarks'] {
  return { ...t.watermarks, lastPushSecond: Math.floor(at / 1000) };
}

function unreachable(value: never): never {
  throw new Error(`unhandled outcome ${JSON.stringify(value)}`);
}
