import type { Handler } from './api-context.ts';
import { retrieveAccount } from './account-routes.ts';
import {
  createCustomer,
  deleteCustomer,
  listCustomers,
  retrieveCustomer,
  updateCustomer,
} from './customer-routes.ts';
import { searchCustomers } from './customer-search.ts';
import {
  createEndpoint,
  deleteEndpoint,
  listEndpoints,
  retrieveEndpoint,
  updateEndpoint,
} from './endpoint-routes.ts';
import { listEvents, retrieveEvent } from './event-routes.ts';
import {
  deleteInvoice,
  finalizeInvoice,
  markUncollectible,
  payInvoice,
  voidInvoice,
} from './invoice-actions.ts';
import { createInvoice } from './invoice-create.ts';
import { listInvoiceLines, listInvoices, retrieveInvoice, updateInvoice } from './invoice-read.ts';
import {
  createInvoiceItem,
  deleteInvoiceItem,
  listInvoiceItems,
  retrieveInvoiceItem,
} from './invoiceitem-routes.ts';

interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

const ID = '([^/]+)';
const table: [string, string, Handler][] = [
  ['GET', '/v1/account', retrieveAccount],
  ['POST', '/v1/customers', createCustomer],
  ['GET', '/v1/customers', listCustomers],
  ['GET', '/v1/customers/search', searchCustomers],
  ['GET', `/v1/customers/${ID}`, retrieveCustomer],
  ['POST', `/v1/customers/${ID}`, updateCustomer],
  ['DELETE', `/v1/customers/${ID}`, deleteCustomer],
  ['POST', '/v1/invoiceitems', createInvoiceItem],
  ['GET', '/v1/invoiceitems', listInvoiceItems],
  ['GET', `/v1/invoiceitems/${ID}`, retrieveInvoiceItem],
  ['DELETE', `/v1/invoiceitems/${ID}`, deleteInvoiceItem],
  ['POST', '/v1/invoices', createInvoice],
  ['GET', '/v1/invoices', listInvoices],
  ['GET', `/v1/invoices/${ID}`, retrieveInvoice],
  ['POST', `/v1/invoices/${ID}`, updateInvoice],
  ['DELETE', `/v1/invoices/${ID}`, deleteInvoice],
  ['GET', `/v1/invoices/${ID}/lines`, listInvoiceLines],
  ['POST', `/v1/invoices/${ID}/finalize`, finalizeInvoice],
  ['POST', `/v1/invoices/${ID}/pay`, payInvoice],
  ['POST', `/v1/invoices/${ID}/void`, voidInvoice],
  ['POST', `/v1/invoices/${ID}/mark_uncollectible`, markUncollectible],
  ['GET', '/v1/events', listEvents],
  ['GET', `/v1/events/${ID}`, retrieveEvent],
  ['POST', '/v1/webhook_endpoints', createEndpoint],
  ['GET', '/v1/webhook_endpoints', listEndpoints],
  ['GET', `/v1/webhook_endpoints/${ID}`, retrieveEndpoint],
  ['POST', `/v1/webhook_endpoints/${ID}`, updateEndpoint],
  ['DELETE', `/v1/webhook_endpoints/${ID}`, deleteEndpoint],
];

const routes: Route[] = table.map(([method, path, handler]) => ({
  method,
  pattern: new RegExp(`^${path}$`),
  handler,
}));

function decodeId(id: string): string {
  try {
    return decodeURIComponent(id);
  } catch {
    return id;
  }
}

/** The handler and the path ids for a request, or undefined (Stripe answers 404 for both cases). */
export function findRoute(
  method: string,
  path: string,
): { handler: Handler; ids: string[] } | undefined {
  for (const route of routes) {
    if (route.method !== method) continue;
    const match = route.pattern.exec(path);
    if (match) return { handler: route.handler, ids: match.slice(1).map(decodeId) };
  }
  return undefined;
}
