// Changes seen on Stripe, as the customer actor receives them, and what the actor keeps to decide
// on them: the Postgres write it has asked for, recent event ids, a wanted fetch, and conflicts.
import { Type, type Static } from '@sinclair/typebox';
import { Nullable } from '../../core/nullable.ts';
import {
  At,
  CanonicalAddressSchema,
  CanonicalFieldsSchema,
  FieldPatchSchema,
  recordedEvent,
} from './schemas.ts';

export const STRIPE_CUSTOMER_EVENT_TYPES = [
  'customer.created',
  'customer.updated',
  'customer.deleted',
] as const;

/**
 * A verified Stripe `customer.*` webhook, mapped to this customer and republished on its subject by
 * the inbound consumer, so that it is ordered with the customer's other facts and outcomes.
 */
export const StripeCustomerObserved = recordedEvent('StripeCustomerObserved', {
  eventId: Type.String({ minLength: 1 }),
  eventType: Type.Union(STRIPE_CUSTOMER_EVENT_TYPES.map((t) => Type.Literal(t))),
  stripeId: Type.String({ minLength: 1 }),
  /** The event's `created`: whole seconds, Stripe's clock. */
  created: Type.Integer({ minimum: 0 }),
  /** `request.idempotency_key`: rtws's prefix marks the echo of our own write. */
  key: Nullable(Type.String()),
  /** The customer's canonical content as the event carries it. */
  fields: CanonicalFieldsSchema,
  /**
   * The fields this event changed (`name`, …, `metadata.<key>`): from `previous_attributes`, and
   * every field for a creation. Absent when unknown (events recorded before it was kept).
   */
  changed: Type.Optional(Type.Array(Type.String())),
  /** `metadata.rtws_id` as Stripe holds it; null when absent. */
  rtwsId: Nullable(Type.String()),
  /**
   * An import's, for a Stripe-born customer: `metadata.rtws_id`, absent, is written with the first
   * push rtws makes to it rather than by a call of its own (see `InboundState.restoreLater`).
   */
  writeRtwsId: Type.Optional(Type.Literal('later')),
});
export type StripeCustomerObserved = Static<typeof StripeCustomerObserved>;

/**
 * An unlinked Stripe customer with this customer's email, and no other candidate: link the two,
 * and settle the fields that differ by the match policy. An import finds it for an unlinked
 * customer; a create finds it instead of creating, and then names its intent.
 */
export const StripeCustomerMatched = recordedEvent('StripeCustomerMatched', {
  /** The create this match concludes; absent for an import's match. */
  intentId: Type.Optional(Type.String()),
  stripeId: Type.String({ minLength: 1 }),
  fields: CanonicalFieldsSchema,
  /** `stripe`: the Stripe customer keeps each value it has; `catalogue`: the catalogue's win. */
  policy: Type.Union([Type.Literal('stripe'), Type.Literal('catalogue')]),
  /** `metadata.rtws_id` as Stripe holds it; absent or another id: it is written with the push. */
  rtwsId: Type.Optional(Nullable(Type.String())),
});
export type StripeCustomerMatched = Static<typeof StripeCustomerMatched>;

/**
 * The outcome of a fetch: Stripe's current content, or null when the customer is gone there:
 * deleted (`deleted: true` in the account), or `missing` (a 404: never there, or another account).
 */
export const StripeCustomerFetched = recordedEvent('StripeCustomerFetched', {
  intentId: Type.String(),
  fields: Nullable(CanonicalFieldsSchema),
  missing: Type.Optional(Type.Boolean()),
  rtwsId: Nullable(Type.String()),
});
export type StripeCustomerFetched = Static<typeof StripeCustomerFetched>;

/** The outcome of a Postgres write the actor asked for: done, or refused for good with a reason. */
export const CatalogueApplied = recordedEvent('CatalogueApplied', {
  intentId: Type.String(),
  /** The customer's version after the write: its change reaches the actor as that fact. */
  version: Nullable(Type.Integer({ minimum: 0 })),
  /**
   * Fields left as they were, with the values Postgres holds: Postgres changed them again after
   * the merge, and that later change wins.
   */
  kept: Type.Optional(FieldPatchSchema),
  error: Nullable(Type.String()),
});
export type CatalogueApplied = Static<typeof CatalogueApplied>;

export const ConflictSchema = Type.Object({
  field: Type.String(),
  postgres: Type.Unknown(),
  /** The other side's value: Stripe's, or Salesforce's when `target` says so. */
  stripe: Type.Unknown(),
  /** The other side, when it is not Stripe. */
  target: Type.Optional(Type.Literal('salesforce')),
  winner: Type.Union([
    Type.Literal('stripe'),
    Type.Literal('salesforce'),
    Type.Literal('postgres'),
  ]),
  reason: Type.String(),
  /** When each side changed the field, in unix seconds (absent on older records). */
  postgresSecond: Type.Optional(Type.Integer()),
  stripeSecond: Type.Optional(Type.Integer()),
  /**
   * Every side's value of the field when the merge decided: `postgres`, and each target linked
   * (`stripe`, `salesforce`), the one that changed included. Absent on older records.
   */
  sides: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  /** The Stripe event (or the Salesforce change) that met the Postgres change. */
  eventId: Type.String(),
  at: At,
});
export type RecordedConflict = Static<typeof ConflictSchema>;

/**
 * A write to Postgres decided by the actor, carried out in one transaction with origin `stripe`
 * that also records its event ids in the inbox (a write whose events are there already is done)
 * and its conflicts:
 * - `insert`: a Stripe-born customer, with its complete content;
 * - `update`: the fields Stripe changed and won;
 * - `delete`: a deletion in Stripe.
 * An `update` may have an empty patch: Postgres won every conflict, which are still recorded.
 */
export const CatalogueApplySchema = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('insert'), Type.Literal('update'), Type.Literal('delete')]),
  stripeId: Type.String(),
  /**
   * For an update: what each other linked target was known to hold of the patched fields, so a
   * conflict Postgres finds when it carries the write out shows every side's value too.
   */
  elsewhere: Type.Optional(Type.Record(Type.String(), FieldPatchSchema)),
  /** For the insert of a Salesforce-born customer: its record, linked in the same transaction. */
  salesforceId: Type.Optional(Type.String({ minLength: 1 })),
  eventIds: Type.Array(Type.String()),
  patch: FieldPatchSchema,
  /**
   * For an update, what Postgres held for each patched field when the merge decided: a field that
   * has moved since is left alone, as a later change.
   */
  expected: Type.Optional(FieldPatchSchema),
  /**
   * For an update, the second of Stripe's change: a field Postgres changed since the merge is
   * judged against it by the time of Postgres's own change.
   */
  changedSecond: Type.Optional(Type.Integer()),
  /** The same per field, where a fetch dated each field by the events that showed its value. */
  changedSeconds: Type.Optional(Type.Record(Type.String(), Type.Integer())),
  fields: Nullable(CanonicalFieldsSchema),
  conflicts: Type.Array(ConflictSchema),
  /**
   * The change's origin in Postgres: `stripe` (the default), the target that asked for it, or
   * `restore` for the repair of a row a database restore took back.
   */
  origin: Type.Optional(Type.Union([Type.Literal('salesforce'), Type.Literal('restore')])),
  /** For `restore`: the version the row's new one must pass, the one the actor knows. */
  versionFloor: Type.Optional(Type.Integer({ minimum: 0 })),
  recordedAt: At,
  /** The change it serves (see the intents' `correlationId`): its outbox row carries it on. */
  correlationId: Type.Optional(Type.String()),
  /**
   * Done, as of this customer version: until the actor has the fact of that version, the write's
   * values still count as desired, so they are never pushed back meanwhile.
   */
  doneAtVersion: Nullable(Type.Integer({ minimum: 0 })),
});
export type CatalogueApply = Static<typeof CatalogueApplySchema>;

/** What one Stripe event showed, as of its `created`. */
export const ShownSchema = Type.Object({
  eventId: Type.String(),
  second: Type.Integer(),
  fields: CanonicalFieldsSchema,
  changed: Type.Optional(Type.Array(Type.String())),
  /** The echo of a write of ours: its `created` is the time of our write. */
  ours: Type.Optional(Type.Boolean()),
});
export type Shown = Static<typeof ShownSchema>;

export const InboundStateSchema = Type.Object({
  /** Writes decided and not yet seen back as facts, oldest first: carried out in this order. */
  applies: Type.Array(CatalogueApplySchema),
  applySeq: Type.Integer({ minimum: 0 }),
  /** Event ids already decided on, newest last: a redelivery is recognised and dropped. */
  seen: Type.Array(Type.String()),
  /**
   * A stale or doubtful event asked for Stripe's current content: the events, the newest second
   * among them, and what the latest of them showed, which dates each fetched field (absent in
   * older snapshots).
   */
  fetch: Nullable(
    Type.Object({
      eventIds: Type.Array(Type.String()),
      second: Type.Integer(),
      shown: Type.Optional(Type.Array(ShownSchema)),
      /** Since when the merge waits for an event not received yet (ms). */
      waitingSince: Type.Optional(At),
      /** Not fetched before then (ms): the wait's next look. */
      notBefore: Type.Optional(At),
    }),
  ),
  /** Someone removed `metadata.rtws_id` on Stripe (or a Stripe-born customer lacks it): restore it. */
  restoreRtwsId: Type.Boolean(),
  /**
   * The restore waits for an update rtws sends anyway: an imported Stripe-born customer's id is
   * derived from its Stripe id, so `rtws_id` would tell nothing new, and a call for it alone would
   * spend the account's budget and fire a `customer.updated` per customer. Absent: at once.
   */
  restoreLater: Type.Optional(Type.Literal(true)),
  /** The latest conflicts, newest last. */
  conflicts: Type.Array(ConflictSchema),
  /** Why the last Postgres write was refused, if it was. */
  lastError: Nullable(Type.String()),
  /**
   * What our latest writes left in Salesforce, oldest first: a change read from there that holds
   * one of them is our echo (absent in older snapshots).
   */
  salesforceWrites: Type.Optional(Type.Array(CanonicalFieldsSchema)),
  /**
   * For each field our latest updates set in Salesforce, oldest first: the record, the value each
   * replaced there and when its outcome was recorded (ms, the stream's clock). A read sent before
   * then that shows that value read the record before the update landed (absent in older
   * snapshots).
   */
  salesforceReplaced: Type.Optional(
    Type.Record(
      Type.String(),
      Type.Array(
        Type.Object({
          record: Type.String(),
          at: At,
          was: Nullable(Type.Union([Type.String(), CanonicalAddressSchema])),
        }),
      ),
    ),
  ),
});
export type InboundState = Static<typeof InboundStateSchema>;

/**
 * A reconciliation's observation (Stripe's content as a page listed it, dated by the read) has an
 * event id with this prefix: a conflict it meets is drift, and says so.
 */
export const RECONCILE_EVENT_PREFIX = 'reconcile:';

export const SEEN_CAP = 64;
export const CONFLICTS_CAP = 20;

/** `rtws_id` restored (or no longer owed): nothing left to write, now or later. */
export function restoreSettled<S extends InboundState>(inbound: S): S {
  const { restoreLater: _, ...rest } = inbound;
  return { ...rest, restoreRtwsId: false } as S;
}

export function initialInboundState(): InboundState {
  return {
    applies: [],
    applySeq: 0,
    seen: [],
    fetch: null,
    restoreRtwsId: false,
    conflicts: [],
    lastError: null,
  };
}
