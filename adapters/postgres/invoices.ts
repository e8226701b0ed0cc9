// Invoices in Postgres: requested through the API (one statement writes the invoice, its items and
// its first history entry; the deferred capture trigger publishes the whole request), read back with
// their items and history, and moved forward as issuing progresses.
import {
  invoiceRequest,
  type Invoice,
  type InvoiceCreateBody,
  type InvoiceRequest,
} from '../../core/invoice.ts';
import { advances, type InvoiceStatus } from '../../core/invoice-status.ts';
import { ConflictError, NotFoundError } from '../../core/errors.ts';
import type { Sql, Tx } from './connect.ts';
import { withIdempotency } from './idempotency.ts';
import { setCorrelation } from './correlation.ts';
import {
  INVOICE_COLUMNS,
  appendHistory,
  lockInvoice,
  toInvoice,
  type InvoiceRow,
} from './invoice-rows.ts';

export { applyStripeInvoiceEvent, type StripeEventOutcome } from './invoice-stripe-events.ts';

/** The same key on another customer's invoice is another request: a 422, as with Stripe's keys. */
const IDEMPOTENCY_SCOPE = 'POST /customers/:id/invoices';

/** Writes a requested invoice; a retry with the same `Idempotency-Key` replays the first answer. */
export async function createInvoice(
  sql: Sql,
  customerId: string,
  body: InvoiceCreateBody,
  idempotencyKey?: string,
  correlationId?: string,
): Promise<{ invoice: Invoice; replayed: boolean }> {
  const request = invoiceRequest(customerId, body);
  const result = await withIdempotency(
    sql,
    IDEMPOTENCY_SCOPE,
    idempotencyKey,
    request,
    async (tx) => ({ status: 202, body: await insertRequested(tx, request, correlationId) }),
  );
  return { invoice: result.body as Invoice, replayed: result.replayed };
}

/**
 * One statement, so it needs no transaction of its own: the customer is checked (and held against
 * a concurrent delete) and the invoice, items and history are written only for a live customer.
 */
async function insertRequested(
  tx: Tx,
  r: InvoiceRequest,
  correlationId: string | undefined,
): Promise<Invoice> {
  // The correlation is set in the first CTE: the deferred capture reads it at the commit.
  const [row] = await tx<{ live: boolean | null; id: string | null; created_at: Date | null }[]>`
    WITH customer AS (
      SELECT deleted_at IS NULL AS live, ${setCorrelation(tx, correlationId)} AS correlation
      FROM customers WHERE id = ${r.customer_id} FOR SHARE
    ), invoice AS (
      INSERT INTO invoices (customer_id, currency, due_days, metadata, total)
      SELECT ${r.customer_id}, ${r.currency}, ${r.due_days}, ${tx.json(r.metadata)}, ${r.total}
      FROM customer WHERE live
      RETURNING id, status, created_at
    ), items AS (
      INSERT INTO invoice_items (invoice_id, position, description, amount, quantity)
      SELECT invoice.id, item.ord - 1, item.value->>'description', (item.value->>'amount')::bigint,
             (item.value->>'quantity')::integer
      FROM invoice, jsonb_array_elements(${tx.json(r.items)}) WITH ORDINALITY AS item(value, ord)
    ), history AS (
      INSERT INTO invoice_history (invoice_id, status, origin, at)
      SELECT id, status, 'api', created_at FROM invoice
    )
    SELECT (SELECT live FROM customer) AS live, invoice.id, invoice.created_at
    FROM (SELECT 1) AS one LEFT JOIN invoice ON true`;
  if (row?.live == null) throw new NotFoundError('customer');
  if (!row.live || !row.id || !row.created_at)
    throw new ConflictError('the customer is deleted; it cannot be invoiced');
  const at = row.created_at.toISOString();
  return {
    id: row.id,
    object: 'invoice',
    customer_id: r.customer_id,
    status: 'pending',
    currency: r.currency,
    total: r.total,
    items: r.items,
    due_days: r.due_days,
    metadata: r.metadata,
    origin: 'api',
    stripe_invoice_id: null,
    number: null,
    hosted_invoice_url: null,
    former_stripe_account: null,
    last_error: null,
    history: [{ status: 'pending', at, origin: 'api', note: null }],
    created_at: at,
    updated_at: at,
  };
}

export async function getInvoice(sql: Tx, id: string): Promise<Invoice> {
  const [row] = await sql<InvoiceRow[]>`
    SELECT ${sql.unsafe(INVOICE_COLUMNS)} FROM invoices WHERE id = ${id}`;
  if (!row) throw new NotFoundError('invoice');
  return toInvoice(row);
}

export interface InvoicePage {
  data: Invoice[];
  next_cursor: string | null;
}

/** A customer's invoices, oldest first, whatever their origin; a deleted customer's are kept. */
export async function listCustomerInvoices(
  sql: Sql,
  customerId: string,
  page: { limit: number; cursor?: string | undefined } = { limit: 100 },
): Promise<InvoicePage> {
  const rows = await sql<InvoiceRow[]>`
    SELECT ${sql.unsafe(INVOICE_COLUMNS)} FROM invoices
    WHERE customer_id = ${customerId}
      ${page.cursor === undefined ? sql`` : sql`AND (created_at, id) > (SELECT created_at, id FROM invoices WHERE id = ${page.cursor})`}
    ORDER BY created_at, id
    LIMIT ${page.limit + 1}`;
  if (rows.length === 0) {
    const [known] = await sql`SELECT 1 FROM customers WHERE id = ${customerId}`;
    if (!known) throw new NotFoundError('customer');
  }
  const more = rows.length > page.limit;
  const data = rows.slice(0, page.limit).map(toInvoice);
  return { data, next_cursor: more ? (data.at(-1)?.id ?? null) : null };
}

/** What issuing an invoice has reached, as its actor reports it. */
export interface InvoiceProgress {
  status: InvoiceStatus;
  stripeInvoiceId?: string | undefined;
  number?: string | undefined;
  hostedInvoiceUrl?: string | undefined;
  /** The last error; with `status: 'failed'`, Stripe's message. */
  error?: string | undefined;
  origin: 'api' | 'stripe' | 'rtws';
  note?: string | undefined;
}

/**
 * Records progress: fills in what is newly known, moves the status only forward, and adds a history
 * entry only when the status moved. Repeating a call changes nothing. A Stripe id other than the
 * one already recorded is a `ConflictError`: it would mean a second Stripe invoice.
 */
export async function recordInvoiceProgress(
  sql: Sql,
  invoiceId: string,
  p: InvoiceProgress,
): Promise<{ status: InvoiceStatus; moved: boolean }> {
  return sql.begin(async (tx) => {
    const current = await lockInvoice(tx, { id: invoiceId });
    if (!current) throw new NotFoundError('invoice');
    if (
      p.stripeInvoiceId &&
      current.stripe_invoice_id &&
      current.stripe_invoice_id !== p.stripeInvoiceId
    )
      throw new ConflictError(
        `invoice ${invoiceId} is issued as ${current.stripe_invoice_id}, not ${p.stripeInvoiceId}`,
      );
    const moved =
      advances(current.status, p.status) && !(await staleAfterStripeFailure(tx, current, p));
    const status = moved ? p.status : current.status;
    const next = {
      status,
      stripe_invoice_id: current.stripe_invoice_id ?? p.stripeInvoiceId ?? null,
      number: current.number ?? p.number ?? null,
      hosted_invoice_url: current.hosted_invoice_url ?? p.hostedInvoiceUrl ?? null,
      last_error: lastError(current.last_error, status, moved, p.error),
    };
    const changed = (Object.keys(next) as (keyof typeof next)[]).some(
      (k) => next[k] !== current[k],
    );
    if (changed) {
      await tx`
        UPDATE invoices SET status = ${next.status}, stripe_invoice_id = ${next.stripe_invoice_id},
          number = ${next.number}, hosted_invoice_url = ${next.hosted_invoice_url},
          last_error = ${next.last_error}, version = version + 1, updated_at = now()
        WHERE id = ${invoiceId}`;
    }
    if (moved) {
      const note = p.note ?? (p.status === 'failed' ? p.error : undefined) ?? null;
      await appendHistory(tx, invoiceId, { status: p.status, origin: p.origin, note });
    }
    return { status: next.status, moved };
  });
}

/**
 * The actor's progress on a draft, reported again (a redelivered step) after Stripe failed the
 * invoice (its draft deleted in the dashboard): stale, never a way back. A failure of the actor's
 * own may go back to a draft, as a redrive does.
 */
async function staleAfterStripeFailure(
  tx: Tx,
  current: { id: string; status: InvoiceStatus },
  p: InvoiceProgress,
): Promise<boolean> {
  if (current.status !== 'failed' || p.origin !== 'rtws') return false;
  const [last] = await tx<{ origin: string }[]>`
    SELECT origin FROM invoice_history WHERE invoice_id = ${current.id} AND status = 'failed'
    ORDER BY id DESC LIMIT 1`;
  return last?.origin === 'stripe';
}

/** The newest error while the invoice is being issued, the reason once it failed, none once issued. */
function lastError(
  current: string | null,
  status: InvoiceStatus,
  moved: boolean,
  error: string | undefined,
): string | null {
  if (status === 'pending' || status === 'draft') return error ?? (moved ? null : current);
  if (status === 'failed') return moved ? (error ?? null) : current;
  return null;
}
