// Updates dropped from `pending` while they may be on their way. A change seen on a target while
// our update to it is pending has the push decided again (after a fetch, on Stripe), but a call
// already sent can still land: what it set is then our write, not an edit made there, and must
// not come back into Postgres as one over a later change.
import { fieldValue, sameValue, type CanonicalFields } from '../../core/canonical.ts';
import {
  applyPatch,
  movedUnder,
  omitFields,
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
 * Drops the pending update, kept as superseded: the scheduler may have sent it already (one still
 * waiting for a slot is not sent once dropped), or an earlier try may have landed.
 */
export function supersede(t: TargetState): TargetState {
  const p = t.pending;
  if (p?.op !== 'update') return t;
  const entry: Superseded = { update: p, landed: false };
  return {
    ...t,
    pending: null,
    attempts: 0,
    status: 'synced',
    superseded: [...(t.superseded ?? []), entry].slice(-SUPERSEDED_CAP),
  };
}

/** The superseded update an outcome reports on: its success, or a failure of its last try. */
export function supersededOf(t: TargetState, o: TargetOutcome): Superseded | undefined {
  if (o.kind !== 'updated' && o.kind !== 'failed') return undefined;
  if (t.pending?.id === o.intentId) return undefined;
  const entry = t.superseded?.find(
    (s) => s.update.id === o.intentId && s.update.params.externalId === t.externalId,
  );
  if (o.kind === 'failed' && entry?.update.attempt !== o.attempt) return undefined;
  return entry;
}

/**
 * Its outcome. A success is recorded (on Salesforce it sets what the target is known to hold
 * at once; on Stripe the fetch after it does, against what Stripe's events show). A failure that
 * proves this try changed nothing forgets it when no earlier try may have landed either (its
 * `failures` counts the tries that may have run); any other failure leaves it in doubt.
 */
export function onSupersededOutcome(
  t: TargetState,
  o: TargetOutcome,
  knownAtOnce: boolean,
): TargetState {
  const entry = supersededOf(t, o);
  if (!entry) return t;
  const rest = without(t, entry);
  if (o.kind === 'failed')
    return NOTHING_APPLIED.has(o.failure) && entry.update.failures === 0 ? rest : t;
  if (knownAtOnce && t.known !== null) return settleLanded(rest, entry, t.known);
  return {
    ...t,
    superseded: t.superseded!.map((s) => (s === entry ? { ...s, landed: true } : s)),
  };
}

function withoutSuperseded(t: TargetState): TargetState {
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
    if (update.params.externalId !== t.externalId) continue;
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
 * A change read from the target while updates of ours superseded on their way may have landed.
 * Each field it shows as such an update set it, where that differs from what the target is known
 * to hold, is our write: the update landed (the target holds what it set; `settleLanded`), and
 * the field is left out of what the read brings in. `theirs`: the read names only fields a person
 * changed (a change event of theirs), so a value it shows is theirs even when ours is the same.
 */
export function foldSuperseded(
  t: TargetState,
  fields: FieldPatch,
  theirs: boolean,
): { target: TargetState; fields: FieldPatch } {
  let target = t;
  let rest = fields;
  if (theirs) return { target, fields };
  for (const entry of t.superseded ?? []) {
    const known = target.known;
    if (known === null || entry.update.params.externalId !== target.externalId) continue;
    const wrote = applyPatch(known, entry.update.params.patch);
    const shown = applyPatch(known, rest);
    const named = patchFieldNames(rest);
    const ours = patchFieldNames(entry.update.params.patch).filter(
      (f) =>
        named.includes(f) &&
        sameValue(fieldValue(shown, f), fieldValue(wrote, f)) &&
        !sameValue(fieldValue(known, f), fieldValue(wrote, f)),
    );
    if (ours.length === 0) continue;
    target = settleLanded(without(target, entry), entry, known);
    rest = omitFields(rest, ours);
  }
  return { target, fields: rest };
}

/**
 * The target holds what a superseded update set. A push decided since, against what the target
 * held before, names a base the target no longer holds in fields both set: sent, it would be held
 * as moved, waiting for a read of an edit that was our own. It is decided again from here.
 */
function settleLanded(t: TargetState, entry: Superseded, before: CanonicalFields) {
  const known = applyPatch(before, entry.update.params.patch);
  const next: TargetState = { ...t, known };
  const p = t.pending;
  const stale =
    p?.op === 'update' &&
    p.params.base !== undefined &&
    movedUnder(p.params.base, p.params.patch, known).length > 0;
  return stale ? supersede(next) : next;
}
