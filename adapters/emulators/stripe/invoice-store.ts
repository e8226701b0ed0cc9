import type { ApiRequest, ApiServices } from './api-context.ts';
import { deletedShape } from './customer-object.ts';
import { previousAttributes } from './diff.ts';
import { invalidRequest, resourceMissing } from './errors.ts';
import { checkExpand, expandList, expandObject, type Expander } from './expand.ts';
import type { InvoiceObject } from './invoice-object.ts';
import type { InvoiceItemObject } from './invoiceitem-object.ts';
import { lineFor, outwardInvoice, withLines } from './invoice-lines.ts';

export function liveInvoice(
  svc: ApiServices,
  id: string,
  param = 'id',
  status = 404,
): InvoiceObject {
  const invoice = svc.state.invoices.get(id);
  if (!invoice) throw resourceMissing('invoice', id, param, status);
  return invoice;
}

export function requireDraft(invoice: InvoiceObject, action: string): void {
  if (invoice.status !== 'draft') {
    throw invalidRequest(
      `You can only ${action} a draft invoice; this invoice is ${invoice.status}.`,
      undefined,
      'invoice_not_editable',
    );
  }
}

/** The customer (or its deleted shape) an invoice or item points at, for `expand[]=customer`. */
export function customerExpander(svc: ApiServices): Record<string, Expander> {
  return {
    customer: (id) => svc.state.customers.get(id) ?? deletedShape(id, 'customer'),
  };
}

/** An invoice as an answer: its first page of lines, and `expand[]=customer` applied. */
export function renderInvoice(
  req: ApiRequest,
  svc: ApiServices,
  invoice: InvoiceObject,
): InvoiceObject {
  const expand = checkExpand(expandList(req.params), customerExpander(svc));
  return expandObject(outwardInvoice(invoice), expand, customerExpander(svc));
}

/** Fires an invoice event carrying the invoice as Stripe sends it: the first page of its lines. */
export function emitInvoice(
  req: ApiRequest,
  svc: ApiServices,
  type: string,
  invoice: InvoiceObject,
  previous?: Record<string, unknown>,
): void {
  svc.emit(req, type, outwardInvoice(invoice), previous);
}

/** Stores a changed invoice and fires `invoice.updated` plus any lifecycle events, in that order. */
export function commitInvoice(
  req: ApiRequest,
  svc: ApiServices,
  before: InvoiceObject,
  after: InvoiceObject,
  types: string[] = [],
): InvoiceObject {
  svc.state.invoices.put(after);
  const previous = previousAttributes(outwardInvoice(before), outwardInvoice(after));
  if (previous !== undefined) emitInvoice(req, svc, 'invoice.updated', after, previous);
  for (const type of types) emitInvoice(req, svc, type, after);
  return after;
}

/** Rebuilds an invoice's lines after an item was attached or removed. */
export function relineInvoice(
  svc: ApiServices,
  invoice: InvoiceObject,
  items: (lines: InvoiceItemObject[]) => InvoiceItemObject[],
): InvoiceObject {
  const current: InvoiceItemObject[] = [];
  for (const line of invoice.lines.data) {
    const item = svc.state.invoiceItems.get(line.parent.invoice_item_details.invoice_item);
    if (item) current.push(item);
  }
  return withLines(
    invoice,
    items(current).map((item) => lineFor(item, invoice.id)),
  );
}
