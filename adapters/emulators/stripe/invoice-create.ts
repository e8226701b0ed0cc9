import type { ApiRequest, ApiServices, Handler } from './api-context.ts';
import { liveCustomer } from './customer-routes.ts';
import { invalidRequest } from './errors.ts';
import { checkExpand, expandList } from './expand.ts';
import { newId } from './ids.ts';
import { draftInvoice } from './invoice-object.ts';
import type { CollectionMethod } from './invoice-object.ts';
import { customerExpander, emitInvoice, relineInvoice, renderInvoice } from './invoice-store.ts';
import { applyMetadata, parseMetadata } from './metadata.ts';
import { checkKeys, optBool, optEnum, optInt, optString, reqString } from './params.ts';

const CREATE_PARAMS: ReadonlySet<string> = new Set([
  'customer',
  'auto_advance',
  'collection_method',
  'currency',
  'days_until_due',
  'description',
  'due_date',
  'expand',
  'footer',
  'metadata',
  'pending_invoice_items_behavior',
]);
const SECONDS_PER_DAY = 86_400;

/** Resolves `days_until_due`/`due_date`, which only `send_invoice` invoices may (and must) carry. */
export function dueDate(
  req: ApiRequest,
  method: CollectionMethod,
  current: number | null = null,
): number | null {
  const days = optInt(req.params, 'days_until_due');
  const date = optInt(req.params, 'due_date');
  if (method === 'charge_automatically') {
    if (days !== undefined)
      throw invalidRequest(
        'Invalid days_until_due: only send_invoice invoices have a due date.',
        'days_until_due',
      );
    if (date !== undefined)
      throw invalidRequest(
        'Invalid due_date: only send_invoice invoices have a due date.',
        'due_date',
      );
    return null;
  }
  if (days !== undefined) return req.now + days * SECONDS_PER_DAY;
  if (date !== undefined) return date;
  if (current !== null) return current;
  throw invalidRequest(
    'Missing required param: days_until_due.',
    'days_until_due',
    'parameter_missing',
  );
}

function pullPendingItems(svc: ApiServices, customerId: string, currency: string): string[] {
  const ids: string[] = [];
  for (const item of svc.state.invoiceItems.newestFirst()) {
    if (item.customer === customerId && item.invoice === null && item.currency === currency)
      ids.push(item.id);
  }
  return ids.reverse();
}

export const createInvoice: Handler = (req, svc) => {
  checkKeys(req.params, CREATE_PARAMS);
  checkExpand(expandList(req.params), customerExpander(svc));
  const customer = liveCustomer(svc, reqString(req.params, 'customer'), 'customer', 400);
  const method =
    optEnum(req.params, 'collection_method', ['charge_automatically', 'send_invoice'] as const) ??
    'charge_automatically';
  const behavior =
    optEnum(req.params, 'pending_invoice_items_behavior', ['include', 'exclude'] as const) ??
    'exclude';
  const currency = (optString(req.params, 'currency') ?? customer.currency ?? 'usd').toLowerCase();
  let invoice = draftInvoice({
    id: newId('in'),
    created: req.now,
    livemode: req.livemode,
    customer,
    currency,
    collectionMethod: method,
    autoAdvance: optBool(req.params, 'auto_advance') ?? false,
    dueDate: dueDate(req, method),
    description: optString(req.params, 'description') ?? null,
    footer: optString(req.params, 'footer') ?? null,
    metadata: applyMetadata({}, parseMetadata(req.params.metadata)),
  });
  if (behavior === 'include') {
    for (const id of pullPendingItems(svc, customer.id, currency)) {
      const item = svc.state.invoiceItems.get(id)!;
      svc.state.invoiceItems.put({ ...item, invoice: invoice.id });
    }
    const attached = pullAttached(svc, invoice.id);
    invoice = relineInvoice(svc, invoice, () => attached);
  }
  svc.state.invoices.put(invoice);
  emitInvoice(req, svc, 'invoice.created', invoice);
  return renderInvoice(req, svc, invoice);
};

function pullAttached(svc: ApiServices, invoiceId: string) {
  const items = [];
  for (const item of svc.state.invoiceItems.newestFirst())
    if (item.invoice === invoiceId) items.push(item);
  return items.reverse();
}
