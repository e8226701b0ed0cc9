import type { Handler } from './api-context.ts';
import { invalidRequest, resourceMissing } from './errors.ts';
import { checkExpand, expandList, expandObject } from './expand.ts';
import { dueDate } from './invoice-create.ts';
import type { InvoiceObject } from './invoice-object.ts';
import { outwardInvoice } from './invoice-lines.ts';
import { commitInvoice, customerExpander, liveInvoice, renderInvoice } from './invoice-store.ts';
import { allOf, createdFilter, listEnvelope } from './list-filters.ts';
import { applyMetadata, parseMetadata } from './metadata.ts';
import { checkKeys, listLimit, optBool, optEnum, optString } from './params.ts';

const LIST_PARAMS: ReadonlySet<string> = new Set([
  'customer',
  'status',
  'collection_method',
  'created',
  'limit',
  'starting_after',
  'ending_before',
  'expand',
]);
const UPDATE_PARAMS: ReadonlySet<string> = new Set([
  'auto_advance',
  'collection_method',
  'days_until_due',
  'description',
  'due_date',
  'expand',
  'footer',
  'metadata',
]);
// A finalized invoice keeps its amounts and terms; only these may still change.
const UPDATABLE_WHEN_FINAL: ReadonlySet<string> = new Set([
  'auto_advance',
  'description',
  'expand',
  'footer',
  'metadata',
]);
const STATUSES = ['draft', 'open', 'paid', 'uncollectible', 'void'] as const;

export const retrieveInvoice: Handler = (req, svc, [id]) => {
  checkKeys(req.params, new Set(['expand']));
  return renderInvoice(req, svc, liveInvoice(svc, id!));
};

export const listInvoices: Handler = (req, svc) => {
  checkKeys(req.params, LIST_PARAMS);
  const expand = checkExpand(expandList(req.params), customerExpander(svc), 'data.');
  const customer = optString(req.params, 'customer');
  const status = optEnum(req.params, 'status', STATUSES);
  const method = optEnum(req.params, 'collection_method', [
    'charge_automatically',
    'send_invoice',
  ] as const);
  const created = createdFilter(req.params);
  const page = svc.state.invoices.page(
    {
      limit: listLimit(req.params),
      startingAfter: optString(req.params, 'starting_after') ?? undefined,
      endingBefore: optString(req.params, 'ending_before') ?? undefined,
    },
    allOf<InvoiceObject>(
      customer ? (i) => i.customer === customer : undefined,
      status ? (i) => i.status === status : undefined,
      method ? (i) => i.collection_method === method : undefined,
      created ? (i) => created(i.created) : undefined,
    ),
  );
  return listEnvelope(
    page.data.map((i) => expandObject(outwardInvoice(i), expand, customerExpander(svc))),
    page.hasMore,
    '/v1/invoices',
  );
};

export const updateInvoice: Handler = (req, svc, [id]) => {
  checkKeys(req.params, UPDATE_PARAMS);
  checkExpand(expandList(req.params), customerExpander(svc));
  const before = liveInvoice(svc, id!);
  if (before.status !== 'draft') {
    const blocked = Object.keys(req.params).find((key) => !UPDATABLE_WHEN_FINAL.has(key));
    if (blocked)
      throw invalidRequest(
        `Finalized invoices can't be updated in this way (${blocked}).`,
        blocked,
        'invoice_not_editable',
      );
  }
  const method =
    optEnum(req.params, 'collection_method', ['charge_automatically', 'send_invoice'] as const) ??
    before.collection_method;
  const description = optString(req.params, 'description');
  const footer = optString(req.params, 'footer');
  const after: InvoiceObject = {
    ...before,
    auto_advance: optBool(req.params, 'auto_advance') ?? before.auto_advance,
    collection_method: method,
    description: description === undefined ? before.description : description,
    due_date: before.status === 'draft' ? dueDate(req, method, before.due_date) : before.due_date,
    footer: footer === undefined ? before.footer : footer,
    metadata: applyMetadata(before.metadata, parseMetadata(req.params.metadata)),
  };
  return renderInvoice(req, svc, commitInvoice(req, svc, before, after));
};

/** All of an invoice's lines, a page at a time, in the order they were attached. */
export const listInvoiceLines: Handler = (req, svc, [id]) => {
  checkKeys(req.params, new Set(['limit', 'starting_after', 'ending_before', 'expand']));
  const invoice = liveInvoice(svc, id!);
  const lines = invoice.lines.data;
  const limit = listLimit(req.params);
  const url = `/v1/invoices/${invoice.id}/lines`;
  const position = (param: string): number | undefined => {
    const cursor = optString(req.params, param);
    if (!cursor) return undefined;
    const at = lines.findIndex((line) => line.id === cursor);
    if (at < 0) throw resourceMissing('line_item', cursor, param, 400);
    return at;
  };
  const before = position('ending_before');
  if (before !== undefined) {
    const start = Math.max(0, before - limit);
    return listEnvelope(lines.slice(start, before), start > 0, url);
  }
  const start = (position('starting_after') ?? -1) + 1;
  return listEnvelope(lines.slice(start, start + limit), start + limit < lines.length, url);
};
