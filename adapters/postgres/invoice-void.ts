// A void asked for through the API. The ask is recorded on the invoice (with a history note) and
// handed to the invoice actor through the outbox, in one transaction; the status itself moves when
// the void is done (the actor's progress, or Stripe's `invoice.voided`). A paid invoice cannot be
// voided. An invoice created in Stripe directly is named to its actor by its Stripe id, once it is
// open or uncollectible (a draft made there is someone's work in progress: deleted in Stripe).
import { INVOICE_VOID_AGGREGATE, type Invoice } from '../../core/invoice.ts';
import type { InvoiceStatus } from '../../core/invoice-status.ts';
import { ConflictError, NotFoundError } from '../../core/errors.ts';
import type { Sql, Tx } from './connect.ts';
import { withIdempotency } from './idempotency.ts';
import { appendHistory } from './invoice-rows.ts';
import { getInvoice } from './invoices.ts';
import { setCorrelation } from './correlation.ts';

export const VOID_IDEMPOTENCY_SCOPE = 'POST /invoices/:id/void';

export async function requestInvoiceVoid(
  sql: Sql,
  invoiceId: string,
  idempotencyKey?: string,
  correlationId?: string,
): Promise<{ invoice: Invoice; replayed: boolean }> {
  const result = await withIdempotency(
    sql,
    VOID_IDEMPOTENCY_SCOPE,
    idempotencyKey,
    { void: invoiceId },
    async (tx) => {
      await inTransaction(tx, (t) => recordVoidAsk(t, invoiceId, correlationId));
      return { status: 202, body: await getInvoice(tx, invoiceId) };
    },
  );
  return { invoice: result.body as Invoice, replayed: result.replayed };
}

async function recordVoidAsk(
  tx: Tx,
  invoiceId: string,
  correlationId: string | undefined,
): Promise<void> {
  const [row] = await tx<
    {
      customer_id: string;
      status: InvoiceStatus;
      origin: string;
      stripe_invoice_id: string | null;
      void_requested_at: Date | null;
    }[]
  >`
    SELECT customer_id, status, origin, stripe_invoice_id, void_requested_at,
           ${setCorrelation(tx, correlationId)} AS correlation
    FROM invoices WHERE id = ${invoiceId} FOR UPDATE`;
  if (!row) throw new NotFoundError('invoice');
  if (row.status === 'paid')
    throw new ConflictError('the invoice is paid; a paid invoice cannot be voided');
  // Asked before, or void already: the same answer, nothing written again.
  if (row.void_requested_at !== null || row.status === 'void') return;
  const fromStripe = row.origin === 'stripe';
  if (fromStripe && !(row.status === 'open' || row.status === 'uncollectible'))
    throw new ConflictError(
      `the invoice was created in Stripe directly and is ${row.status}: only an open or uncollectible one is voided by rtws`,
    );
  const payload = fromStripe
    ? { stripe_invoice_id: row.stripe_invoice_id, stripe_status: row.status }
    : {};
  const [moved] = await tx<{ version: number }[]>`
    UPDATE invoices SET void_requested_at = now(), version = version + 1, updated_at = now()
    WHERE id = ${invoiceId} RETURNING version`;
  await appendHistory(tx, invoiceId, { status: row.status, origin: 'api', note: 'void requested' });
  await tx`
    INSERT INTO outbox (id, aggregate, aggregate_id, customer_id, op, version, origin, payload,
                        occurred_at)
    VALUES (nextval('outbox_id_seq'), ${INVOICE_VOID_AGGREGATE}, ${invoiceId}, ${row.customer_id},
            'updated', ${moved!.version}, 'api', ${tx.json(payload)}, clock_timestamp())`;
  await tx`SELECT rtws_wake_publisher()`;
}

/** Runs `work` in the caller's transaction, or in one of its own on the pool. */
async function inTransaction<T>(tx: Tx, work: (t: Tx) => Promise<T>): Promise<T> {
  return 'savepoint' in tx ? work(tx) : ((await tx.begin(work)) as T);
}
