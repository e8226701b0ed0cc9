import type { ApiRequest, ApiServices, Handler } from './api-context.ts';
import { deletedShape } from './customer-object.ts';
import { liveCustomer } from './customer-routes.ts';
import { invalidRequest, missingParameter, resourceMissing } from './errors.ts';
import { checkExpand, expandList, expandObject } from './expand.ts';
import { newId } from './ids.ts';
import {
  commitInvoice,
  customerExpander,
  liveInvoice,
  relineInvoice,
  requireDraft,
} from './invoice-store.ts';
import type { InvoiceItemObject } from './invoiceitem-object.ts';
import { allOf, listEnvelope } from './list-filters.ts';
import { applyMetadata, parseMetadata } from './metadata.ts';
import {
  checkKeys,
  listLimit,
  optBool,
  optInt,
  optObject,
  optString,
  reqString,
} from './params.ts';

const CREATE_PARAMS: ReadonlySet<string> = new Set([
  'amount',
  'currency',
  'customer',
  'description',
  'discountable',
  'expand',
  'invoice',
  'metadata',
  'period',
  'quantity',
  'unit_amount_decimal',
]);
const LIST_PARAMS: ReadonlySet<string> = new Set([
  'customer',
  'invoice',
  'pending',
  'limit',
  'starting_after',
  'ending_before',
  'expand',
]);

function itemExpanders(svc: ApiServices) {
  return {
    ...customerExpander(svc),
    invoice: (id: string) => svc.state.invoices.get(id) ?? deletedShape(id, 'invoice'),
  };
}

function amounts(req: ApiRequest): { amount: number; quantity: number; unit: string | null } {
  const quantity = optInt(req.params, 'quantity') ?? 1;
  const amount = optInt(req.params, 'amount');
  const unit = optString(req.params, 'unit_amount_decimal');
  if (amount !== undefined && unit !== undefined)
    throw invalidRequest('You may only specify one of amount and unit_amount_decimal.', 'amount');
  if (amount !== undefined) return { amount, quantity, unit: null };
  if (unit === undefined || unit === null) throw missingParameter('amount');
  if (!/^-?\d+(\.\d+)?$/.test(unit))
    throw invalidRequest(`Invalid decimal: ${unit}`, 'unit_amount_decimal');
  return { amount: Math.round(Number(unit) * quantity), quantity, unit };
}

function period(req: ApiRequest): { end: number; start: number } {
  const value = optObject(req.params, 'period');
  if (!value) return { end: req.now, start: req.now };
  checkKeys(value, new Set(['start', 'end']), 'period');
  return { end: optInt(value, 'end') ?? req.now, start: optInt(value, 'start') ?? req.now };
}

export const createInvoiceItem: Handler = (req, svc) => {
  checkKeys(req.params, CREATE_PARAMS);
  const expand = checkExpand(expandList(req.params), itemExpanders(svc));
  const customer = liveCustomer(svc, reqString(req.params, 'customer'), 'customer', 400);
  const invoiceId = optString(req.params, 'invoice') ?? null;
  const invoice = invoiceId === null ? undefined : liveInvoice(svc, invoiceId, 'invoice', 400);
  const { amount, quantity, unit } = amounts(req);
  const currency = (
    optString(req.params, 'currency') ??
    invoice?.currency ??
    customer.currency ??
    'usd'
  ).toLowerCase();
  if (invoice) {
    requireDraft(invoice, 'add items to');
    if (invoice.customer !== customer.id)
      throw invalidRequest('The invoice belongs to a different customer.', 'invoice');
    if (invoice.currency !== currency)
      throw invalidRequest(
        `The currency ${currency} does not match the invoice currency ${invoice.currency}.`,
        'currency',
      );
  }
  const item: InvoiceItemObject = {
    amount,
    currency,
    customer: customer.id,
    date: req.now,
    description: optString(req.params, 'description') ?? null,
    discountable: optBool(req.params, 'discountable') ?? true,
    discounts: [],
    id: newId('ii'),
    invoice: invoiceId,
    livemode: req.livemode,
    metadata: applyMetadata({}, parseMetadata(req.params.metadata)),
    object: 'invoiceitem',
    period: period(req),
    proration: false,
    quantity,
    tax_rates: [],
    test_clock: null,
    parent: null,
    pricing: { type: 'price_details', unit_amount_decimal: unit },
    net_amount: amount,
    customer_account: null,
    quantity_decimal: String(quantity),
  };
  svc.state.invoiceItems.put(item);
  svc.emit(req, 'invoiceitem.created', item);
  if (invoice)
    commitInvoice(
      req,
      svc,
      invoice,
      relineInvoice(svc, invoice, (items) => [...items, item]),
    );
  return expandObject(item, expand, itemExpanders(svc));
};

function liveItem(svc: ApiServices, id: string): InvoiceItemObject {
  const item = svc.state.invoiceItems.get(id);
  if (!item) throw resourceMissing('invoiceitem', id);
  return item;
}

export const retrieveInvoiceItem: Handler = (req, svc, [id]) => {
  checkKeys(req.params, new Set(['expand']));
  const expand = checkExpand(expandList(req.params), itemExpanders(svc));
  return expandObject(liveItem(svc, id!), expand, itemExpanders(svc));
};

export const deleteInvoiceItem: Handler = (req, svc, [id]) => {
  checkKeys(req.params, new Set());
  const item = liveItem(svc, id!);
  const invoice = item.invoice === null ? undefined : svc.state.invoices.get(item.invoice);
  if (invoice) requireDraft(invoice, 'remove items from');
  svc.state.invoiceItems.remove(item.id);
  svc.state.deletedInvoiceItems.add(item.id);
  svc.emit(req, 'invoiceitem.deleted', item);
  if (invoice)
    commitInvoice(
      req,
      svc,
      invoice,
      relineInvoice(svc, invoice, (items) => items.filter((i) => i.id !== item.id)),
    );
  return deletedShape(item.id, 'invoiceitem');
};

export const listInvoiceItems: Handler = (req, svc) => {
  checkKeys(req.params, LIST_PARAMS);
  const expand = checkExpand(expandList(req.params), itemExpanders(svc), 'data.');
  const customer = optString(req.params, 'customer');
  const invoice = optString(req.params, 'invoice');
  const pending = optBool(req.params, 'pending');
  const page = svc.state.invoiceItems.page(
    {
      limit: listLimit(req.params),
      startingAfter: optString(req.params, 'starting_after') ?? undefined,
      endingBefore: optString(req.params, 'ending_before') ?? undefined,
    },
    allOf<InvoiceItemObject>(
      customer ? (i) => i.customer === customer : undefined,
      invoice ? (i) => i.invoice === invoice : undefined,
      pending === undefined ? undefined : (i) => (i.invoice === null) === pending,
    ),
  );
  const data = page.data.map((item) => expandObject(item, expand, itemExpanders(svc)));
  return listEnvelope(data, page.hasMore, '/v1/invoiceitems');
};
