// A catalogue restored from a backup is behind what the actor knows: its row is older than the
// content rtws last synced, its version lower, and it may be missing altogether. The actor learns
// of it in two ways:
// - the row's next edit, a fact whose version the actor has seen but which happened after the
//   latest fact it has (versions only go back in a restore);
// - a reconciliation's read of the row (`CatalogueRowObserved`), for rows nobody has edited since.
// The repair brings the row forward to what the actor knows, except the fields edited since the
// restore, which are newer than anything it knows. It is one Postgres write with origin `restore`
// and a version above the actor's (the floor), so the row's later edits count again; its fact
// reaches every target, which then gets the edits made since the restore. A customer deleted
// since the backup is deleted again, and one created since it is inserted again.
import { Type, type Static } from '@sinclair/typebox';
import { Nullable } from '../../core/nullable.ts';
import { canonicalFields, type CanonicalFields } from '../../core/canonical.ts';
import { diffFields, isEmptyPatch, omitFields, valuesUnder } from '../../core/policy/push.ts';
import type { Desired } from './context.ts';
import type { CatalogueApply } from './inbound.ts';
import type { CustomerFactEvent } from './events.ts';
import { askWrite, effectiveDesired, type InboundContext } from './inbound-step.ts';
import { CanonicalFieldsSchema, recordedEvent } from './schemas.ts';

/** The origin of the repair's write in Postgres, and of the fact it makes. */
export const RESTORE_ORIGIN = 'restore' as const;

/** A reconciliation's read of the catalogue row of a customer its actor knows a newer version of. */
export const CatalogueRowObserved = recordedEvent('CatalogueRowObserved', {
  /** The row's content as read; null when the catalogue has no such customer. */
  fields: Nullable(CanonicalFieldsSchema),
  /** The row's version as read (0 when missing). */
  version: Type.Integer({ minimum: 0 }),
  /** When the row's content last changed (ISO 8601); null when missing. */
  updatedAt: Nullable(Type.String()),
  /** The actor's desired version the read was compared with: a newer one since makes it stale. */
  knownVersion: Type.Integer({ minimum: 0 }),
  /** The Stripe customer linked to it, for a row inserted again. */
  stripeId: Nullable(Type.String()),
  /** The reconciliation run that read it. */
  runId: Type.Integer({ minimum: 0 }),
});
export type CatalogueRowObserved = Static<typeof CatalogueRowObserved>;

/**
 * A fact from a catalogue that went back: about this customer, not newer than what the actor
 * has, yet later than it. Without a restore a fact of a version the actor has seen is a
 * redelivery, and happened before the one it has.
 */
export function isBehindFact(
  customerId: string,
  desired: Desired | null,
  fact: CustomerFactEvent,
): boolean {
  if (fact.metadata.customer_id !== customerId || desired === null) return false;
  if (fact.metadata.version > desired.version) return false;
  return Date.parse(fact.metadata.occurred_at) > Date.parse(desired.occurredAt);
}

/** The row's edit, seen behind the actor's version: the row is brought forward. */
export function onBehindFact<C extends InboundContext>(c: C, fact: CustomerFactEvent): C {
  // A deletion reaches here only when the actor has one already (any other is taken as a
  // fact): as a missing row, it then asks nothing.
  const fields = fact.type === 'CustomerDeleted' ? null : canonicalFields(fact.data);
  const edited = fact.type === 'CustomerUpdated' ? (fact.metadata.changed ?? []) : [];
  return bringForward(
    c,
    fields,
    edited,
    `v${fact.metadata.version}@${fact.metadata.occurred_at}`,
    null,
    fact.at,
  );
}

/**
 * A reconciliation's read of a row behind the actor, unless the actor has moved on since. A row
 * edited after the actor's latest fact is left to that edit's own fact, which says what it changed
 * (the read cannot), and is on its way from the outbox.
 */
export function onRowObserved<C extends InboundContext>(c: C, ev: CatalogueRowObserved): C {
  const { fields, version, updatedAt, knownVersion, stripeId, runId } = ev.data;
  if (c.desired === null || c.desired.version !== knownVersion || version >= knownVersion) return c;
  if (updatedAt !== null && Date.parse(updatedAt) > Date.parse(c.desired.occurredAt)) return c;
  return bringForward(c, fields, [], `reconcile:${runId}:v${version}`, stripeId, ev.at);
}

/**
 * Asks the write that brings the row forward, unless one waits already: its expected values keep
 * every field edited since it was decided, so one repair covers all the edits made meanwhile.
 */
function bringForward<C extends InboundContext>(
  c: C,
  row: CanonicalFields | null,
  edited: readonly string[],
  seen: string,
  stripeId: string | null,
  at: number,
): C {
  const desired = effectiveDesired(c);
  if (desired === null || c.desired === null) return c;
  if (c.inbound.applies.some((a) => a.origin === RESTORE_ORIGIN)) return c;
  const common = {
    stripeId: stripeId ?? c.targets.stripe.externalId ?? '',
    eventIds: [`${RESTORE_ORIGIN}:${seen}`],
    conflicts: [],
    origin: RESTORE_ORIGIN,
    versionFloor: c.desired.version,
  } satisfies Partial<CatalogueApply>;
  // Deleted since the backup: deleted again, as delete beats edit.
  if (desired.deleted) {
    if (row === null) return c;
    return askWrite(c, { ...common, kind: 'delete', patch: {}, fields: null }, at);
  }
  // Created since the backup: inserted again with what rtws knows.
  if (row === null)
    return askWrite(c, { ...common, kind: 'insert', patch: {}, fields: desired.fields }, at);
  const patch = omitFields(diffFields(row, desired.fields), edited);
  return askWrite(
    c,
    {
      ...common,
      kind: 'update',
      patch,
      ...(isEmptyPatch(patch) ? {} : { expected: valuesUnder(row, patch) }),
      fields: null,
    },
    at,
  );
}
