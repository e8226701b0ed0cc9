import type { Handler } from './api-context.ts';
import { invalidRequest } from './errors.ts';
import { expandList } from './expand.ts';
import { checkKeys, listLimit, optString, reqString } from './params.ts';
import { parseQuery } from './search-query.ts';

const SEARCH_PARAMS: ReadonlySet<string> = new Set(['query', 'limit', 'page', 'expand']);

function decodePage(token: string | null | undefined): number {
  if (token === undefined || token === null) return 0;
  const offset = Number(Buffer.from(token, 'base64url').toString());
  if (!Number.isInteger(offset) || offset < 0) throw invalidRequest('Invalid page token.', 'page');
  return offset;
}

/** `GET /v1/customers/search`: matches against the lagging index, answers with current objects. */
export const searchCustomers: Handler = (req, svc) => {
  checkKeys(req.params, SEARCH_PARAMS);
  const matches = parseQuery(reqString(req.params, 'query'));
  const limit = listLimit(req.params);
  const offset = decodePage(optString(req.params, 'page'));
  const expand = expandList(req.params);
  for (const path of expand) {
    if (path !== 'total_count')
      throw invalidRequest(`This property cannot be expanded (${path}).`, 'expand');
  }
  svc.state.search.catchUp();
  const hits = [];
  for (const customer of svc.state.customers.newestFirst()) {
    const doc = svc.state.search.lookup(customer.id);
    if (doc !== undefined && matches(doc)) hits.push(customer);
  }
  const data = hits.slice(offset, offset + limit);
  const hasMore = offset + limit < hits.length;
  return {
    object: 'search_result',
    data,
    has_more: hasMore,
    next_page: hasMore ? Buffer.from(String(offset + limit)).toString('base64url') : null,
    url: '/v1/customers/search',
    ...(expand.includes('total_count') ? { total_count: hits.length } : {}),
  };
};
