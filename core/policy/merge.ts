// The merge policy: a per-field three-way merge of a change seen on a side that sends changes back
// (Stripe or Salesforce) against the last values that side was known to hold (the base) and the
// content Postgres wants (ours).
// - A field changed on that side only takes its value (applied to Postgres).
// - A field changed on both sides to different values is a conflict: the later change wins, at
//   one-second granularity, and a tie goes to Postgres.
// - A field changed on both sides to the same value, or on Postgres only, needs nothing here: the
//   push rule sends Postgres's value to the side where it does not hold it.
// A change from one side that wins reaches the third side from Postgres, by the ordinary rules.
// Metadata merges key by key, so edits to different keys on each side both survive.
import { sameValue, type CanonicalFields } from '../canonical.ts';
import { SCALAR_FIELDS, type FieldPatch } from './push.ts';

/** The side a change was seen on. */
export type MergeSide = 'stripe' | 'salesforce';
export type MergeWinner = MergeSide | 'postgres';

const SIDE_NAME: Record<MergeSide, string> = { stripe: 'Stripe', salesforce: 'Salesforce' };

export interface Conflict {
  /** `name`, `email`, `phone`, `address` or `metadata.<key>`. */
  field: string;
  postgres: unknown;
  /** The other side's value (Stripe's, or Salesforce's when `target` says so). */
  stripe: unknown;
  /** The other side, when it is not Stripe. */
  target?: 'salesforce';
  winner: MergeWinner;
  reason: string;
  /** When each side changed the field, in unix seconds (`stripeSecond`: the other side's). */
  postgresSecond: number;
  stripeSecond: number;
}

export interface MergeInput {
  base: CanonicalFields;
  ours: CanonicalFields;
  theirs: CanonicalFields;
  /** The second Postgres last changed a field (`name`, …, `metadata.<key>`). */
  oursSecond: (field: string) => number;
  /**
   * The second Stripe's side changed: the event's `created`, or per field when what is merged was
   * fetched and the events that asked for it date each field differently.
   */
  theirsSecond: number | ((field: string) => number);
  /** The side `theirs` is; default `stripe`. */
  side?: MergeSide;
}

export interface MergeResult {
  /** What Postgres must be given: Stripe's value of every field Stripe changed and won. */
  apply: FieldPatch;
  conflicts: Conflict[];
}

export function mergeFields(m: MergeInput): MergeResult {
  const side = m.side ?? 'stripe';
  const them = SIDE_NAME[side];
  const apply: FieldPatch = {};
  const conflicts: Conflict[] = [];
  const decide = (field: string, base: unknown, ours: unknown, theirs: unknown): boolean => {
    if (sameValue(theirs, base) || sameValue(theirs, ours)) return false;
    if (sameValue(ours, base)) return true;
    const oursSecond = m.oursSecond(field);
    const theirsSecond =
      typeof m.theirsSecond === 'number' ? m.theirsSecond : m.theirsSecond(field);
    const theyWin = theirsSecond > oursSecond;
    conflicts.push({
      field,
      postgres: ours ?? null,
      stripe: theirs ?? null,
      ...(side === 'stripe' ? {} : { target: side }),
      winner: theyWin ? side : 'postgres',
      postgresSecond: oursSecond,
      stripeSecond: theirsSecond,
      reason: theyWin
        ? `changed on both sides; ${them}'s change (${iso(theirsSecond)}) is later than Postgres's (${iso(oursSecond)})`
        : theirsSecond === oursSecond
          ? `changed on both sides in the same second (${iso(oursSecond)}); a tie goes to Postgres`
          : `changed on both sides; Postgres's change (${iso(oursSecond)}) is later than ${them}'s (${iso(theirsSecond)})`,
    });
    return theyWin;
  };
  for (const field of SCALAR_FIELDS) {
    if (decide(field, m.base[field], m.ours[field], m.theirs[field])) {
      (apply as Record<string, unknown>)[field] = m.theirs[field];
    }
  }
  const keys = new Set([
    ...Object.keys(m.base.metadata),
    ...Object.keys(m.ours.metadata),
    ...Object.keys(m.theirs.metadata),
  ]);
  const metadata: Record<string, string | null> = {};
  for (const key of [...keys].sort()) {
    const theirs = m.theirs.metadata[key] ?? null;
    if (
      decide(`metadata.${key}`, m.base.metadata[key] ?? null, m.ours.metadata[key] ?? null, theirs)
    )
      metadata[key] = theirs;
  }
  if (Object.keys(metadata).length > 0) apply.metadata = metadata;
  return { apply, conflicts };
}

/** A unix second as ISO 8601, without the milliseconds a second has none of. */
export function iso(second: number): string {
  return new Date(second * 1000).toISOString().replace('.000Z', 'Z');
}
