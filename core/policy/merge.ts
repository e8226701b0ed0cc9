// The merge policy: a per-field three-way merge of a change seen on a side that sends changes back
// (Stripe or Salesforce) against the last values that side was known to hold (the base) and the
// content Postgres wants (ours).
// - A field changed on that side only takes its value (applied to Postgres).
// - A field changed on both sides to different values is a conflict: the later change wins, at
//   one-second granularity, and a tie goes to Postgres.
// - A field changed on both sides to the same value, or on Postgres only, needs nothing here: the
//   push rule sends Postgres's value to the side where it does not hold it.
// A change from one side that wins reaches the third side from Postgres, by the ordinary rules.
// Field owners (RTWS_FIELD_OWNERS) name, per field, a system of record: its change always wins the
// field, and another side's change to it is put back, each recorded with the reason `owner`.
// Metadata merges key by key, so edits to different keys on each side both survive.
import { ownValue, sameValue, setOwn, type CanonicalFields } from '../canonical.ts';
import { SCALAR_FIELDS, type FieldPatch } from './push.ts';

/** A field's system of record: its changes win, others' are put back. */
export type FieldOwner = 'postgres' | MergeSide;
export const FIELD_OWNERS: readonly FieldOwner[] = ['postgres', 'stripe', 'salesforce'];

/**
 * Per field (`name`, `email`, `phone`, `address`, `metadata` for every key, or `metadata.<key>`),
 * its owner; a field not named goes to the latest change.
 */
export type FieldOwners = Readonly<Record<string, FieldOwner>>;

/** RTWS_FIELD_OWNERS's entries (`field=owner`, checked by the config) as owners; `latest` is none. */
export function fieldOwnersOf(entries: readonly string[]): FieldOwners {
  const owners: Record<string, FieldOwner> = {};
  for (const entry of entries) {
    const [field, owner] = entry.split('=') as [string, string];
    if ((FIELD_OWNERS as readonly string[]).includes(owner)) owners[field] = owner as FieldOwner;
  }
  return Object.freeze(owners);
}

/** The owner of a field, if any: a key's own, or the metadata's. */
export function ownerOf(owners: FieldOwners | undefined, field: string): FieldOwner | undefined {
  if (!owners) return undefined;
  return owners[field] ?? (field.startsWith('metadata.') ? owners.metadata : undefined);
}

/** The side a change was seen on. */
export type MergeSide = 'stripe' | 'salesforce';
export type MergeWinner = MergeSide | 'postgres';

const SIDE_NAME: Record<MergeSide, string> = { stripe: 'Stripe', salesforce: 'Salesforce' };
const OWNER_NAME: Record<FieldOwner, string> = { ...SIDE_NAME, postgres: 'Postgres' };

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
  /** Systems of record per field (RTWS_FIELD_OWNERS); default: the latest change wins. */
  owners?: FieldOwners;
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
    const owner = ownerOf(m.owners, field);
    // Changed on their side only, with no owner: theirs, and no times to weigh.
    if (owner === undefined && sameValue(ours, base)) return true;
    const oursSecond = m.oursSecond(field);
    const theirsSecond =
      typeof m.theirsSecond === 'number' ? m.theirsSecond : m.theirsSecond(field);
    const record = (theyWin: boolean, reason: string) =>
      conflicts.push({
        field,
        postgres: ours ?? null,
        stripe: theirs ?? null,
        ...(side === 'stripe' ? {} : { target: side }),
        winner: theyWin ? side : 'postgres',
        postgresSecond: oursSecond,
        stripeSecond: theirsSecond,
        reason,
      });
    if (owner !== undefined) {
      const theyOwn = owner === side;
      // Their change to a field they own always wins; one to a field another owns is put back.
      // Either way it is recorded when it meets a change of Postgres's or is refused.
      if (!theyOwn || !sameValue(ours, base))
        record(
          theyOwn,
          theyOwn
            ? `owner: ${them} owns ${field} (RTWS_FIELD_OWNERS); its change wins`
            : `owner: ${OWNER_NAME[owner]} owns ${field} (RTWS_FIELD_OWNERS); ${them}'s change is put back`,
        );
      return theyOwn;
    }
    const theyWin = theirsSecond > oursSecond;
    record(
      theyWin,
      theyWin
        ? `changed on both sides; ${them}'s change (${iso(theirsSecond)}) is later than Postgres's (${iso(oursSecond)})`
        : theirsSecond === oursSecond
          ? `changed on both sides in the same second (${iso(oursSecond)}); a tie goes to Postgres`
          : `changed on both sides; Postgres's change (${iso(oursSecond)}) is later than ${them}'s (${iso(theirsSecond)})`,
    );
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
    const theirs = ownValue(m.theirs.metadata, key) ?? null;
    if (
      decide(
        `metadata.${key}`,
        ownValue(m.base.metadata, key) ?? null,
        ownValue(m.ours.metadata, key) ?? null,
        theirs,
      )
    )
      setOwn(metadata, key, theirs);
  }
  if (Object.keys(metadata).length > 0) apply.metadata = metadata;
  return { apply, conflicts };
}

/** A unix second as ISO 8601, without the milliseconds a second has none of. */
export function iso(second: number): string {
  return new Date(second * 1000).toISOString().replace('.000Z', 'Z');
}
