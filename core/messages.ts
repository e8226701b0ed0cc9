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
});
export type ChangeMetadata = Static<typeof ChangeMetadata>;

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

/** The JetStream dedupe id: unique per customer and version, so it survives outbox-id reuse after a restore. */
export function customerMsgId(customerId: string, version: number): string {
  return `customer:${customerId}:v${version}`;
}
