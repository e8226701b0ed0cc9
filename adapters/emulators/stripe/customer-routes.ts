import type { ApiRequest, ApiServices, Handler } from './api-context.ts';
import { blankCustomer, deletedShape } from './customer-object.ts';
import type { CustomerObject } from './customer-object.ts';
import { previousAttributes } from './diff.ts';
import { resourceMissing } from './errors.ts';
import { checkExpand, expandList } from './expand.ts';
import { newId, newInvoicePrefix } from './ids.ts';
import { allOf, createdFilter, listEnvelope } from './list-filters.ts';
import { applyCustomerParams } from './customer-params.ts';
import { checkKeys, listLimit, optString } from './params.ts';

// Fields that are null on every emulated customer: expanding them is valid and changes nothing.
const CUSTOMER_EXPANDERS = {
  default_source: (id: string) => ({ id }),
  test_clock: (id: string) => ({ id }),
};
const LIST_PARAMS: ReadonlySet<string> = new Set([
  'limit',
  'starting_after',
  'ending_before',
  'email',
  'created',
  'expand',
  'test_clock',
]);

export function liveCustomer(
  svc: ApiServices,
  id: string,
  param = 'id',
  status = 404,
): CustomerObject {
  const customer = svc.state.customers.get(id);
  if (!customer) throw resourceMissing('customer', id, param, status);
  return customer;
}

export const createCustomer: Handler = (req, svc) => {
  checkExpand(expandList(req.params), CUSTOMER_EXPANDERS);
  const customer = applyCustomerParams(
    blankCustomer(newId('cus'), req.now, req.livemode, newInvoicePrefix()),
    req.params,
  );
  svc.state.putCustomer(customer);
  svc.emit(req, 'customer.created', customer);
  return customer;
};

export const retrieveCustomer: Handler = (req, svc, [id]) => {
  checkKeys(req.params, new Set(['expand']));
  checkExpand(expandList(req.params), CUSTOMER_EXPANDERS);
  if (svc.state.deletedCustomers.has(id!)) return deletedShape(id!, 'customer');
  return liveCustomer(svc, id!);
};

export const updateCustomer: Handler = (req, svc, [id]) => {
  checkExpand(expandList(req.params), CUSTOMER_EXPANDERS);
  const before = liveCustomer(svc, id!);
  const after = applyCustomerParams(before, req.params);
  const previous = previousAttributes(before, after);
  if (previous === undefined) return before;
  svc.state.putCustomer(after);
  svc.emit(req, 'customer.updated', after, previous);
  return after;
};

export const deleteCustomer: Handler = (req, svc, [id]) => {
  checkKeys(req.params, new Set());
  const customer = liveCustomer(svc, id!);
  svc.state.customers.remove(customer.id);
  svc.state.deletedCustomers.add(customer.id);
  svc.state.search.remove(customer.id);
  svc.emit(req, 'customer.deleted', customer);
  return deletedShape(customer.id, 'customer');
};

export const listCustomers: Handler = (req: ApiRequest, svc) => {
  checkKeys(req.params, LIST_PARAMS);
  checkExpand(expandList(req.params), CUSTOMER_EXPANDERS, 'data.');
  const email = optString(req.params, 'email', 512);
  const keep = allOf<CustomerObject>(
    email === undefined ? undefined : (c) => c.email === email,
    ((f) => f && ((c: CustomerObject) => f(c.created)))(createdFilter(req.params)),
  );
  const page = svc.state.customers.page(
    {
      limit: listLimit(req.params),
      startingAfter: optString(req.params, 'starting_after') ?? undefined,
      endingBefore: optString(req.params, 'ending_before') ?? undefined,
    },
    keep,
  );
  return listEnvelope(page.data, page.hasMore, '/v1/customers');
};
