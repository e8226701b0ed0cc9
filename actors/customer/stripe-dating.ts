// When Stripe's side changed each field, as the Stripe events the actor has seen tell. The merge
// judges a field changed on both sides by these seconds, so they must never make a change look
// later than it was. Every event shows the whole customer as of its `created`, and names the
// fields it changed (`previous_attributes`). A value Stripe holds that no seen event set was set
// by one rtws has not received yet: a delivery held by a crashed worker, or one Stripe will retry.
import { fieldValue, sameValue, type CanonicalFields } from '../../core/canonical.ts';
import type { Shown } from './inbound.ts';

/** Seconds by which Stripe's clock and ours may differ. */
export const CLOCK_SKEW_S = 1;

export interface FieldDating {
  /** The second Stripe's side last changed the field. */
  secondOf(field: string): number;
  /** The value Stripe holds was set by an event the actor has not seen. */
  unseen(field: string): boolean;
}

export interface DatingInput {
  /** What the events showed, in any order. */
  readonly shown: readonly Shown[];
  /** Stripe's content now (fetched, or the newest event's). */
  readonly current: CanonicalFields;
  /** What Stripe was known to hold before. */
  readonly base: CanonicalFields;
  /** The second for a field nothing else dates: the newest event's. */
  readonly newest: number;
  /** Every event received since the content was last known: each must be in `shown`. */
  readonly received?: readonly string[];
  /**
   * When `base` was learned in full (the last event applied or fetch merged): a change older than
   * that cannot be what moved a field away from it.
   */
  readonly baseSecond?: number | null;
}

export function dateFields({
  shown,
  current,
  base,
  newest,
  received = shown.map((e) => e.eventId),
  baseSecond = null,
}: DatingInput): FieldDating {
  const ordered = [...shown].sort((a, b) => a.second - b.second);
  // Only when every event received says what it changed can a change rtws has not seen be told
  // (an older snapshot, or more events than `shown` keeps, leave some out).
  const ids = new Set(shown.map((e) => e.eventId));
  const told =
    ordered.length > 0 &&
    ordered.every((e) => e.changed !== undefined) &&
    received.every((id) => ids.has(id));
  const isCurrent = (e: Shown, field: string) =>
    sameValue(fieldValue(e.fields, field), fieldValue(current, field));
  // The last change of a field, as far as the events tell: `created` orders events across
  // seconds, but not within one (and deliveries come in any order), so every change of the
  // latest second counts as the last.
  const lastChange = (field: string): Shown | undefined => {
    const changes = ordered.filter((e) => e.changed?.includes(field));
    const second = changes.at(-1)?.second;
    const last = changes.filter((e) => e.second === second);
    return last.find((e) => isCurrent(e, field)) ?? last[0];
  };
  return {
    secondOf(field) {
      const change = told ? lastChange(field) : undefined;
      if (change && isCurrent(change, field)) return change.second;
      // The value the latest events all show was there by the earliest of them. An echo shows
      // values as of our write, which says nothing of when a value it did not set was set.
      let since = newest;
      for (let i = ordered.length - 1; i >= 0; i--) {
        const e = ordered[i]!;
        if (e.ours) continue;
        if (!isCurrent(e, field)) break;
        since = e.second;
      }
      return since;
    },
    unseen(field) {
      if (!told || sameValue(fieldValue(current, field), fieldValue(base, field))) return false;
      const change = lastChange(field);
      if (change === undefined || !isCurrent(change, field)) return true;
      // Set before the base was learned (a late redelivery of an old change, or our own echo):
      // what moved the field away from the base since is an event not received yet.
      return baseSecond !== null && change.second < baseSecond - CLOCK_SKEW_S;
    },
  };
}
