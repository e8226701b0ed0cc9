// Invoice rows: how they are read (with their items and history) and the small writes that the API
// and the inbound path share.
import type { Invoice, InvoiceHistoryEntry, InvoiceItem } from '../../core/invoice.ts';
import type { InvoiceStatus } from '../../core/invoice-status.ts';
import type { Tx } from './connect.ts';

export interface InvoiceRow {
  id: string;
  customer_id: string;
  status: InvoiceStatus;
  currency: string;
  total: number;
  due_days: number;
  metadata: Record<string, string>;
  origin: string;
  stripe_invoice_id: string | null;
  number: string | null;
  hosted_invoice_url: string | null;
  former_stripe_account: string | null;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
  items: InvoiceItem[];
  history: InvoiceHistoryEntry[];
}

const ISO_UTC = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

export const INVOICE_COLUMNS = `id, customer_id, status, currency, total, due_days, metadata, origin,
  stripe_invoice_id, number, hosted_invoice_url, former_stripe_account, last_error, created_at,
  updated_at,
  (SELECT coalesce(jsonb_agg(jsonb_build_object('description', i.description, 'amount', i.amount,
     'quantity', i.quantity) ORDER BY i.position), '[]'::jsonb)
   FROM invoice_items i WHERE i.invoice_id = invoices.id) AS items,
  (SELECT coalesce(jsonb_agg(jsonb_build_object('status', h.status,
     'at', to_char(h.at AT TIME ZONE 'UTC', ${ISO_UTC}), 'origin', h.origin, 'note', h.note)
     ORDER BY h.id), '[]'::jsonb)
   FROM invoice_history h WHERE h.invoice_id = invoices.id) AS history`;

export function toInvoice(r: InvoiceRow): Invoice {
  return {
    id: r.id,
    object: 'invoice',
    customer_id: r.customer_id,
    status: r.status,
    currency: r.currency,
    total: r.total,
    items: r.items,
    due_days: r.due_days,
    metadata: r.metadata,
    origin: r.origin,
    stripe_invoice_id: r.stripe_invoice_id,
    number: r.number,
    hosted_invoice_url: r.hosted_invoice_url,
    former_stripe_account: r.former_stripe_account,
    last_error: r.last_error,
    history: r.history,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
  };
}

/** The mutable part of an invoice, locked for the rest of the transaction. */
export interface LockedInvoice {
  id: string;
  origin: string;
  status: InvoiceStatus;
  stripe_invoice_id: string | null;
  number: string | null;
  hosted_invoice_url: string | null;
  last_error: string | null;
  /** When a void was asked for through the API. */
  void_requested_at: Date | null;
}

export async function lockInvoice(
  tx: Tx,
  by: { id: string } | { stripeInvoiceId: string },
): Promise<LockedInvoice | undefined> {
  const where = 'id' in by ? tx`id = ${by.id}` : tx`stripe_invoice_id = ${by.stripeInvoiceId}`;
  const [row] = await tx<LockedInvoice[]>`
    SELECT id, origin, status, stripe_invoice_id, number, hosted_invoice_url, last_error,
           void_requested_at
    FROM invoices WHERE ${where} FOR UPDATE`;
  return row;
}

/**
 * Appends a history entry. With a Stripe event id, an event already recorded on this invoice adds
 * nothing; resolves to whether the entry was added.
 */
export async function appendHistory(
  tx: Tx,
  invoiceId: string,
  e: { status: InvoiceStatus; origin: string; note: string | null; stripeEventId?: string },
): Promise<boolean> {
  const added = await tx`
    INSERT INTO invoice_history (invoice_id, status, origin, note, stripe_event_id)
    VALUES (${invoiceId}, ${e.status}, ${e.origin}, ${e.note}, ${e.stripeEventId ?? null})
    ON CONFLICT (invoice_id, stripe_event_id) WHERE stripe_event_id IS NOT NULL DO NOTHING`;
  return added.count > 0;
}
