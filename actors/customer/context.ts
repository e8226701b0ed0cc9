// What the actor knows, per customer and per target. Plain JSON: it is persisted in KV, compared
// after replays and validated when loaded.
import { Type, type Static } from '@sinclair/typebox';
import { Nullable } from '../../core/nullable.ts';
import { Origin } from '../../core/messages.ts';
import { AnyIntent, IntentSchema } from './intents.ts';
import { At, CanonicalFieldsSchema, FailureKindSchema } from './schemas.ts';

/** The latest accepted fact: the content every target should hold. */
export const DesiredSchema = Type.Object({
  version: Type.Integer({ minimum: 1 }),
  fields: CanonicalFieldsSchema,
  deleted: Type.Boolean(),
  origin: Origin,
  /** The origin of the customer's `CustomerCreated` fact: `stripe` for a Stripe-born customer. */
  bornOn: Nullable(Origin),
  occurredAt: Type.String(),
  /**
   * Per field (`name`, …, `metadata.<key>`), the second of the fact that last changed it: the
   * merge policy's time of Postgres's change. A field not listed dates from `occurredAt`.
   */
  changedAt: Type.Optional(Type.Record(Type.String(), Type.Integer())),
  /** When the runtime received the fact. */
  at: At,
  /** The fact's correlation id: what a push decided later (after a call it waited for) serves. */
  correlationId: Type.Optional(Type.String()),
});
export type Desired = Static<typeof DesiredSchema>;

/**
 * - `new`: nothing asked of the target yet;
 * - `pending`: an intent waits for its executor;
 * - `retrying`: the pending intent failed and waits for its `notBefore`;
 * - `paused`: the target's API budget is spent (Salesforce's daily quota); the pending intent
 *   waits for its `notBefore`, and the pause never counts towards giving up;
 * - `synced`: the target holds the desired content;
 * - `failed`: given up until a newer fact or an operator's retry;
 * - `unlinked`: the link points at nothing: the target answered 404 for it and (on Stripe) a
 *   retrieve confirmed it absent from the account. Reported, never taken as a deletion; it waits
 *   for an operator's retry (after a rebind, say) or the customer's deletion;
 * - `deleted`: deleted on the target (by us or remotely), or never created; final;
 * - `off`: the target is not configured; the machine has no region for it and records nothing.
 */
export const TARGET_STATUSES = [
  'new',
  'pending',
  'retrying',
  'paused',
  'synced',
  'failed',
  'unlinked',
  'deleted',
  'off',
] as const;
export type TargetStatus = (typeof TARGET_STATUSES)[number];

export const TargetErrorSchema = Type.Object({
  /** `exhausted`: a retryable failure repeated until the retry policy gave up. */
  failure: Type.Union([FailureKindSchema, Type.Literal('exhausted')]),
  reason: Type.String(),
  at: At,
  /** The intent that failed, as the dead-letter entry needs it. */
  intent: IntentSchema,
});
export type TargetError = Static<typeof TargetErrorSchema>;

/**
 * An update dropped from `pending` while a try of it may be on its way (`superseded.ts`): a change
 * seen on the target meanwhile had the push decided again. `landed`: its success was reported.
 */
export const SupersededSchema = Type.Object({ update: AnyIntent.Update, landed: Type.Boolean() });
export type Superseded = Static<typeof SupersededSchema>;

export const TargetStateSchema = Type.Object({
  status: Type.Union(TARGET_STATUSES.map((s) => Type.Literal(s))),
  externalId: Nullable(Type.String()),
  /** The last known canonical values on the target: the base of partial pushes and merges. */
  known: Nullable(CanonicalFieldsSchema),
  /** The desired version the target last fully held. */
  syncedVersion: Type.Integer({ minimum: 0 }),
  watermarks: Type.Object({
    /** `created` second of the last external event applied from the target. */
    lastEventSecond: Nullable(Type.Integer()),
    /** The second of our last successful write to the target. */
    lastPushSecond: Nullable(Type.Integer()),
  }),
  /** At most one intent per target is ever pending. */
  pending: Nullable(IntentSchema),
  lastError: Nullable(TargetErrorSchema),
  /** Failed tries of the pending intent that count towards giving up. */
  attempts: Type.Integer({ minimum: 0 }),
  /** Create keys used so far: the next create key carries suffix `-a<n+1>` when n > 0. */
  createKeys: Type.Integer({ minimum: 0 }),
  /** A create may have landed without our knowing: look it up before creating again. */
  createUncertain: Type.Boolean(),
  /** When the last create was first recorded: the lower bound of a lookup. */
  lastCreateAt: Nullable(At),
  /**
   * Set by rtws versions that took a 404 on an update as a deletion; never set now (a 404 alone
   * deletes nothing). Kept so that their snapshots restore as they were.
   */
  deletedRemotely: Type.Boolean(),
  /** Numbers intent ids, so that ids are deterministic on replay. */
  intentSeq: Type.Integer({ minimum: 0 }),
  /** The version whose first update key was used: another update for it needs a key of its own. */
  updateKeyVersion: Type.Optional(Type.Integer({ minimum: 0 })),
  /** Updates dropped from `pending` that may still land, oldest first (`superseded.ts`). */
  superseded: Type.Optional(Type.Array(SupersededSchema)),
});
export type TargetState = Static<typeof TargetStateSchema>;

export function initialTargetState(status: 'new' | 'off' = 'new'): TargetState {
  return {
    status,
    externalId: null,
    known: null,
    syncedVersion: 0,
    watermarks: { lastEventSecond: null, lastPushSecond: null },
    pending: null,
    lastError: null,
    attempts: 0,
    createKeys: 0,
    createUncertain: false,
    lastCreateAt: null,
    deletedRemotely: false,
    intentSeq: 0,
  };
}
