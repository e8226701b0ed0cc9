import type { InvoiceItemObject } from './invoiceitem-object.ts';
import type { InvoiceObject, LineItemObject } from './invoice-object.ts';

export function lineFor(item: InvoiceItemObject, invoiceId: string): LineItemObject {
  return {
    amount: item.amount,
    currency: item.currency,
    description: item.description,
    discount_amounts: [],
    discountable: item.discountable,
    discounts: [],
    id: `il_${item.id.slice(3)}`,
    invoice: invoiceId,
    livemode: item.livemode,
    metadata: item.metadata,
    object: 'line_item',
    period: item.period,
    quantity: item.quantity,
    subscription: null,
    pretax_credit_amounts: [],
    taxes: [],
    parent: {
      invoice_item_details: {
        invoice_item: item.id,
        proration: false,
        proration_details: { credited_items: null },
        subscription: null,
      },
      subscription_item_details: null,
      type: 'invoice_item_details',
    },
    pricing: { type: 'price_details', unit_amount_decimal: item.pricing.unit_amount_decimal },
    subtotal: item.amount,
    quantity_decimal: item.quantity_decimal,
  };
}

/** Stripe embeds only the first page of an invoice's lines; the rest are at `lines.url`. */
export const EMBEDDED_LINES = 10;

/**
 * The invoice as it leaves the emulator (answers and events): its first lines, `has_more` when
 * there are others. The store keeps them all, for `GET /v1/invoices/:id/lines`.
 */
export function outwardInvoice(invoice: InvoiceObject): InvoiceObject {
  const all = invoice.lines.data;
  if (all.length <= EMBEDDED_LINES) return invoice;
  return {
    ...invoice,
    lines: { ...invoice.lines, data: all.slice(0, EMBEDDED_LINES), has_more: true },
  };
}

/** The invoice with new lines and every total recomputed from them (no tax, no discounts). */
export function withLines(invoice: InvoiceObject, lines: LineItemObject[]): InvoiceObject {
  const total = lines.reduce((sum, line) => sum + line.amount, 0);
  const paid = invoice.amount_paid;
  return {
    ...invoice,
    lines: { ...invoice.lines, data: lines, has_more: false },
    subtotal: total,
    subtotal_excluding_tax: total,
    total,
    total_excluding_tax: total,
    amount_due: Math.max(total, 0),
    amount_remaining: Math.max(total - paid, 0),
  };
}
