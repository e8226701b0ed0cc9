// The invoice actor's progress written to the catalogue, with origin `rtws`: forward-only and
// idempotent there, so a redelivered step writes nothing new.
import type { InvoiceProgress } from '../../actors/invoice/index.ts';
import type { Sql } from './connect.ts';
import { recordInvoiceProgress } from './invoices.ts';

export function invoiceProgressEffects(sql: Sql) {
  return {
    async recordProgress(invoiceId: string, p: InvoiceProgress): Promise<void> {
      await recordInvoiceProgress(sql, invoiceId, {
        status: p.status,
        stripeInvoiceId: p.stripeInvoiceId ?? undefined,
        number: p.number ?? undefined,
        hostedInvoiceUrl: p.hostedInvoiceUrl ?? undefined,
        error: p.error ?? undefined,
        note: p.note,
        origin: 'rtws',
      });
    },
  };
}
