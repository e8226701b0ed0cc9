// Intents: the commands the actor records for a target's executor, with their idempotency keys
// and parameters, before the fact that caused them is acked. Every target has the same four
// operations; a target names them after its own object (`CreateStripeCustomer`,
// `CreateSalesforceAccount`, …).
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Nullable } from '../../core/nullable.ts';
import { At, CanonicalFieldsSchema, FieldPatchSchema } from './schemas.ts';

export const INTENT_OPS = ['create', 'update', 'delete', 'find', 'fetch'] as const;
export type IntentOp = (typeof INTENT_OPS)[number];

const common = {
  /** Unique per customer and target; outcomes name it, so a stale outcome is recognisable. */
  id: Type.String(),
  target: Type.String(),
  /** The idempotency key to send, or null where the call has none (deletes, lookups). */
  key: Nullable(Type.String()),
  /** The desired version the intent serves. */
  version: Type.Integer({ minimum: 0 }),
  /** Tries so far, including the one in flight: 1 until the first failure. */
  attempt: Type.Integer({ minimum: 1 }),
  /** Failed tries that count towards giving up (429s excluded). */
  failures: Type.Integer({ minimum: 0 }),
  /** The executor must not start the call before this instant (ms since the epoch). */
  notBefore: At,
  /** When the intent was first recorded; retries keep it. */
  recordedAt: At,
  /**
   * The change it serves (an API request's id, a Stripe event's id): logged with the call and
   * recorded back on its outcome. Absent on intents recorded before correlation ids, or without one.
   */
  correlationId: Type.Optional(Type.String()),
};

/** The canonical fields, with `metadata.rtws_id` set to our customer id. */
const CreateParams = CanonicalFieldsSchema;
const UpdateParams = Type.Object({
  externalId: Type.String(),
  patch: FieldPatchSchema,
  /** Also set `metadata.rtws_id` to this again: someone removed it on the target. */
  setRtwsId: Type.Optional(Type.String()),
  /**
   * What the target was known to hold, when the push was decided, for each field the patch sets.
   * A push resumed after a restart checks it first: a field that moved there since waits.
   */
  base: Type.Optional(FieldPatchSchema),
});
const DeleteParams = Type.Object({ externalId: Type.String() });
/**
 * List objects created since `createdSince` (unix seconds) and match `metadata.rtws_id`. `sent`:
 * what the create in doubt sent, which the target holds once it is found, but for edits made there
 * since (absent in intents recorded before it, or where the create's parameters were not at hand).
 */
const FindParams = Type.Object({
  rtwsId: Type.String(),
  createdSince: Type.Integer(),
  sent: Type.Optional(CanonicalFieldsSchema),
});
/** Read the object's current content, for the inbound events that were stale or in doubt. */
const FetchParams = Type.Object({ externalId: Type.String(), eventIds: Type.Array(Type.String()) });

/** A fetch: only targets that send changes back (Stripe) ever record one. */
export function fetchIntentSchema<T extends TSchema>(type: T) {
  return Type.Object({ type, op: Type.Literal('fetch'), ...common, params: FetchParams });
}

function intentSchemas<C extends TSchema, U extends TSchema, D extends TSchema, F extends TSchema>(
  create: C,
  update: U,
  del: D,
  find: F,
) {
  const Create = Type.Object({
    type: create,
    op: Type.Literal('create'),
    ...common,
    params: CreateParams,
  });
  const Update = Type.Object({
    type: update,
    op: Type.Literal('update'),
    ...common,
    params: UpdateParams,
  });
  const Delete = Type.Object({
    type: del,
    op: Type.Literal('delete'),
    ...common,
    params: DeleteParams,
  });
  const Find = Type.Object({ type: find, op: Type.Literal('find'), ...common, params: FindParams });
  return { Create, Update, Delete, Find, Intent: Type.Union([Create, Update, Delete, Find]) };
}

/** Schemas of one target's intents, typed with the target's literal names. */
export function targetIntentSchemas<const N extends string>(noun: N) {
  return intentSchemas(
    Type.Literal(`Create${noun}` as const),
    Type.Literal(`Update${noun}` as const),
    Type.Literal(`Delete${noun}` as const),
    Type.Literal(`Find${noun}` as const),
  );
}

/** Any target's intent, as stored in the actor's context. */
export const AnyIntent = intentSchemas(Type.String(), Type.String(), Type.String(), Type.String());
export const FetchIntentSchema = fetchIntentSchema(Type.String());
export const IntentSchema = Type.Union([...AnyIntent.Intent.anyOf, FetchIntentSchema]);
export type Intent = Static<typeof IntentSchema>;
export type CreateIntent = Static<typeof AnyIntent.Create>;
export type UpdateIntent = Static<typeof AnyIntent.Update>;
export type DeleteIntent = Static<typeof AnyIntent.Delete>;
export type FindIntent = Static<typeof AnyIntent.Find>;
export type FetchIntent = Static<typeof FetchIntentSchema>;
