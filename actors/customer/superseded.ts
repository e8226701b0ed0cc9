// Updates dropped from `pending` while they may be on their way. A change seen on a target while
// our update to it is pending has the push decided again (after a fetch, on Stripe), but a call
// already sent can still land: what it set is then our write, not an edit made there, and must
// not come back into Postgres as one over a later change.
import { fieldValue, sameValue, type CanonicalFields } from '../../core/canonical.ts';
import {
  applyPatch,
  holdsPatch,
  movedUnder,
  patchFieldNames,
  pickFields,
  type FieldPatch,
} from '../../core/policy/push.ts';
import type { Superseded, TargetState } from './context.ts';
import type { Shown } from './inbound.ts';
import type { TargetOutcome } from './outcomes.ts';

/** Enough for the updates a burst of changes can drop while one call is on its way. */
export const SUPERSEDED_CAP = 4;

/** Failures that prove a try changed nothing on the target. */
const NOTHING_APPLIED: ReadonlySet<string> = new Set([
  'permanent',
  'not_found',
  'rate_limited',
  'target_moved',
]);

/**
 * Drops the pending update, kept as superseded when a try of it may have been sent: it is due (the
 * scheduler may be running it), or an earlier try failed (and may have landed).
 */
export function supersede(t: TargetState, at: number): TargetState {
  const p = t.pending;
  if (p?.op !== 'update') return t;
  const dropped: TargetState = { ...t, pending: null, attempts: 0, status: 'synced' };
  if (p.notBefore > at && p.attempt === 1) return dropped;
  const entry: Superseded = { update: p, landed: false };
  return { ...dropped, superseded: [...(t.superseded ?? []), entry].slice(-SUPERSEDED_CAP) };
}

/** The superseded update an outcome reports on: its success, or a failure of its last try. */
export function supersededOf(t: TargetState, o: TargetOutcome): Superseded | undefined {
  if (o.kind !== 'updated' && o.kind !== 'failed') return undefined;
  if (t.pending?.id === o.intentId) return undefined;
  const entry = t.superseded?.find((s) => s.update.id === o.intentId);
  if (o.kind === 'failed' && entry?.update.attempt !== o.attempt) return undefined;
  return entry;
}

/**
 * Its outcome. A success is recorded (on Salesforce it sets what the target is known to hold
 * at once; on Stripe the fetch after it does, against what Stripe's events show); a failure that
 * proves nothing landed forgets it; any other failure leaves it in doubt.
 */
export function onSupersededOutcome(
  t: TargetState,
  o: TargetOutcome,
  knownAtOnce: boolean,
): TargetState {
  const entry = supersededOf(t, o);
  if (!entry) return t;
  const rest = without(t, entry);
  if (o.kind === 'failed') return NOTHING_APPLIED.has(o.failure) ? rest : t;
  if (knownAtOnce && t.known !== null) return settleLanded(rest, entry, t.known, o.at);
  return {
    ...t,
    superseded: t.superseded!.map((s) => (s === entry ? { ...s, landed: true } : s)),
  };
}

export function withoutSuperseded(t: TargetState): TargetState {
  const { superseded: _, ...rest } = t;
  return rest;
}

function without(t: TargetState, entry: Superseded): TargetState {
  const others = (t.superseded ?? []).filter((s) => s !== entry);
  return others.length > 0 ? { ...t, superseded: others } : withoutSuperseded(t);
}

/**
 * What Stripe holds as our write when a fetch comes back, and the superseded updates forgotten.
 * A landed update set every field it names; one whose outcome never came (a crash between its
 * call and its record, a timeout) is taken to have set the fields Stripe holds as it set them.
 * Either way, a field a person set to that same value (a Stripe event not of ours changed it to
 * it) is theirs: their change, dated by that event, is later than the decision our write carried.
 */
export function knownWithSuperseded(
  t: TargetState,
  fetched: CanonicalFields | null,
  shown: readonly Shown[],
): TargetState {
  const rest = withoutSuperseded(t);
  if (!t.superseded || t.known === null || fetched === null) return rest;
  let known = t.known;
  for (const { update, landed } of t.superseded) {
    const { patch } = update.params;
    const wrote = applyPatch(known, patch);
    const ours = patchFieldNames(patch).filter(
      (f) =>
        (landed || sameValue(fieldValue(wrote, f), fieldValue(fetched, f))) &&
        !shown.some(
          (e) =>
            !e.ours &&
            e.changed?.includes(f) &&
            sameValue(fieldValue(e.fields, f), fieldValue(wrote, f)),
        ),
    );
    known = applyPatch(known, pickFields(patch, ours));
  }
  return { ...rest, known };
}

/**
 * A read of the target by our own user that shows what a superseded update sets (its outcome not
 * seen yet, or lost): the update landed, and the target holds what it set. Asked only of a read
 * that differs from what the target is known to hold, so the difference is the update's.
 */
export function landedAsRead(
  t: TargetState,
  fields: FieldPatch,
  at: number,
): TargetState | undefined {
  const known = t.known;
  if (known === null) return undefined;
  const entry = t.superseded?.find((s) =>
    holdsPatch(applyPatch(known, s.update.params.patch), fields),
  );
  if (!entry) return undefined;
  return settleLanded(without(t, entry), entry, known, at);
}

/**
 * The target holds what a superseded update set. A push decided since, against what the target
 * held before, names a base the target no longer holds in fields both set: sent, it would be held
 * as moved, waiting for a read of an edit that was our own. It is decided again from here.
 */
function settleLanded(t: TargetState, entry: Superseded, before: CanonicalFields, at: number) {
  const known = applyPatch(before, entry.update.params.patch);
  const next: TargetState = { ...t, known };
  const p = t.pending;
  const stale =
    p?.op === 'update' &&
    p.params.base !== undefined &&
    movedUnder(p.params.base, p.params.patch, known).length > 0;
  return stale ? supersede(next, at) : next;
}
