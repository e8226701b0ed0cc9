// An invoice's lines, read in full. Stripe embeds only the first page of them (about ten) in an
// invoice and in its events, with `lines.has_more`; the rest are listed at `/v1/invoices/:id/lines`.
import type Stripe from 'stripe';
import type { InvoiceItem } from '../../core/invoice.ts';
import { toItem } from './invoice-events.ts';

/** Every line of the invoice, in Stripe's order, as rtws records items. */
export async function invoiceItemsOf(
  stripe: Stripe,
  stripeInvoiceId: string,
): Promise<InvoiceItem[]> {
  const items: InvoiceItem[] = [];
  for await (const line of stripe.invoices.listLineItems(stripeInvoiceId, { limit: 100 }))
    items.push(
      toItem({
        description: line.description,
        amount: line.amount,
        quantity: line.quantity,
        pricing: { unit_amount_decimal: line.pricing?.unit_amount_decimal?.toString() ?? null },
      }),
    );
  return items;
}
