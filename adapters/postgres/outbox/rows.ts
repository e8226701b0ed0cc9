// Outbox rows and the messages they become.
import { MESSAGE_SCHEMA, customerMsgId, type CustomerChanged } from '../../../core/messages.ts';
import type { SyncedFields } from '../../../core/customer.ts';
import {
  INVOICE_VOID_AGGREGATE,
  invoiceMsgId,
  invoiceVoidMsgId,
  type InvoiceRequest,
  type InvoiceRequested,
} from '../../../core/invoice.ts';
import { encodeInvoiceEvent } from '../../../actors/invoice/index.ts';
import type { Names } from '../../../core/subjects.ts';

export interface OutboxRow {
  id: number;
  aggregate: string;
  aggregate_id: string;
  customer_id: string;
  op: 'created' | 'updated' | 'deleted';
  version: number;
  origin: string;
  payload: unknown;
  occurred_at: Date;
  changed?: string[] | null;
  /** What caused the change (sql/022_correlation.sql); null on rows written without one. */
  correlation_id?: string | null;
  /** The actor's write that made the change (sql/024_write_tags.sql); null on any other. */
  write_id?: string | null;
}

export interface OutgoingMessage {
  subject: string;
  msgId: string;
  payload: Uint8Array;
  /** Published in a header: the payload stays as it is. */
  correlationId?: string | undefined;
}

const encoder = new TextEncoder();

const customerTypes = {
  created: 'CustomerCreated',
  updated: 'CustomerUpdated',
  deleted: 'CustomerDeleted',
} as const;

function customerMessage(row: OutboxRow, names: Names): OutgoingMessage {
  const message: CustomerChanged = {
    type: customerTypes[row.op],
    data: row.payload as SyncedFields,
    metadata: {
      customer_id: row.customer_id,
      version: row.version,
      origin: row.origin,
      outbox_id: row.id,
      occurred_at: row.occurred_at.toISOString(),
      ...(row.changed ? { changed: row.changed } : {}),
      schema: MESSAGE_SCHEMA,
      ...(row.write_id ? { write: row.write_id } : {}),
    },
  };
  return {
    subject: names.customerSubject(row.customer_id),
    msgId: customerMsgId(row.customer_id, row.version, message.metadata.occurred_at),
    payload: encoder.encode(JSON.stringify(message)),
  };
}

/** A requested invoice: the whole request, for the invoice actor to issue. */
function invoiceMessage(row: OutboxRow, names: Names): OutgoingMessage {
  const message: InvoiceRequested = {
    type: 'InvoiceRequested',
    data: { ...(row.payload as InvoiceRequest), id: row.aggregate_id },
    metadata: {
      origin: row.origin,
      version: row.version,
      outbox_id: row.id,
      occurred_at: row.occurred_at.toISOString(),
      schema: MESSAGE_SCHEMA,
    },
  };
  return {
    subject: names.invoiceSubject(row.aggregate_id, row.customer_id),
    msgId: invoiceMsgId(row.aggregate_id, row.version),
    payload: encoder.encode(JSON.stringify(message)),
  };
}

/**
 * A void asked for through the API, on the invoice's own subject after its request. One per
 * invoice: the API writes it only for the first ask.
 */
function invoiceVoidMessage(row: OutboxRow, names: Names): OutgoingMessage {
  // An invoice created in Stripe is named by its Stripe id and status (its actor starts here).
  const stripe = row.payload as {
    stripe_invoice_id?: string;
    stripe_status?: 'open' | 'uncollectible';
  };
  const message = encodeInvoiceEvent(row.aggregate_id, row.customer_id, {
    type: 'InvoiceVoidRequested',
    data: stripe.stripe_invoice_id
      ? {
          stripeInvoiceId: stripe.stripe_invoice_id,
          ...(stripe.stripe_status ? { stripeStatus: stripe.stripe_status } : {}),
          customerId: row.customer_id,
        }
      : {},
    at: 0,
  });
  return {
    subject: names.invoiceSubject(row.aggregate_id, row.customer_id),
    msgId: invoiceVoidMsgId(row.aggregate_id),
    payload: encoder.encode(JSON.stringify(message)),
  };
}

/** Each aggregate the outbox carries, and how its rows become messages. */
const encoders: Record<string, (row: OutboxRow, names: Names) => OutgoingMessage> = {
  customer: customerMessage,
  invoice: invoiceMessage,
  [INVOICE_VOID_AGGREGATE]: invoiceVoidMessage,
};

export const OUTBOX_AGGREGATES: readonly string[] = Object.keys(encoders);

/** A row of a known aggregate as the message it becomes, with its correlation id. */
export function outgoing(row: OutboxRow, names: Names): OutgoingMessage {
  const message = encoders[row.aggregate]!(row, names);
  return row.correlation_id ? { ...message, correlationId: row.correlation_id } : message;
}
