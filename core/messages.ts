// Messages on the wire: plain, discriminated `{ type, data, metadata }` data.
import { Type, type Static } from '@sinclair/typebox';
import { SyncedFields } from './customer.ts';

/** Where a change came from, stamped by the capture trigger from `rtws.origin`. */
export const Origin = Type.String({ pattern: '^[a-z][a-z0-9_]{0,31}$' });

export const ChangeMetadata = Type.Object({
  customer_id: Type.String(),
  version: Type.Integer({ minimum: 1 }),
  origin: Origin,
  outbox_id: Type.Integer(),
  /** When the change committed's transaction wrote it (ISO 8601, from the database clock). */
  occurred_at: Type.String(),
  /**
   * For an update, the fields it changed (`name`, …, `metadata.<key>`), as the capture trigger
   * compared the row before and after. Absent on creations, deletions and older messages.
   */
  changed: Type.Optional(Type.Array(Type.String())),
  /** The message format's version (`MESSAGE_SCHEMA`); absent before versions were stamped. */
  schema: Type.Optional(Type.Integer({ minimum: 1 })),
  /**
   * The customer actor's write this change captures (its tag, `writeTag`): the change reports
   * that write done. Absent on every other change. A process that predates it ignores it and
   * finds the write done when it looks again (sql/024_write_tags.sql).
   */
  write: Type.Optional(Type.String({ minLength: 1 })),
});
export type ChangeMetadata = Static<typeof ChangeMetadata>;

/**
 * The version of the message format every rtws message carries in `metadata.schema`: captured
 * changes and recorded events alike. A process reads this version and the ones before it (a
 * message with no stamp is version 1); a message of a later version, written by a newer rtws
 * during a rolling upgrade, is left unacked for a process that can read it. Raise it when a
 * message changes in a way this version would misread, or gains a type it does not know.
 */
export const MESSAGE_SCHEMA = 1;

/** Why a message is of a format newer than this process reads; undefined when it is not. */
export function newerSchema(message: unknown): string | undefined {
  const schema = (message as { metadata?: { schema?: unknown } } | null)?.metadata?.schema;
  return typeof schema === 'number' && schema > MESSAGE_SCHEMA
    ? `message format ${schema}, newer than this process's ${MESSAGE_SCHEMA}`
    : undefined;
}

/** A captured change to a customer: the whole synced snapshot at `version`. */
export const CustomerChanged = Type.Union([
  Type.Object({
    type: Type.Literal('CustomerCreated'),
    data: SyncedFields,
    metadata: ChangeMetadata,
  }),
  Type.Object({
    type: Type.Literal('CustomerUpdated'),
    data: SyncedFields,
    metadata: ChangeMetadata,
  }),
  Type.Object({
    type: Type.Literal('CustomerDeleted'),
    data: SyncedFields,
    metadata: ChangeMetadata,
  }),
]);
export type CustomerChanged = Static<typeof CustomerChanged>;

/**
 * The JetStream dedupe id: one per customer, version and capture time. A republished outbox row
 * keeps all three; after a database restore, a version used again has a capture time of its own,
 * and is not taken for a duplicate of the lost one.
 */
export function customerMsgId(customerId: string, version: number, occurredAt: string): string {
  return `customer:${customerId}:v${version}@${occurredAt}`;
}
