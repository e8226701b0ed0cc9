// `/query` and `/queryAll`: a SOQL string (`?q=`) or a locator from a previous `nextRecordsUrl`.
import { SalesforceApiError } from '../errors.ts';
import type { Reply } from '../http.ts';
import { executeQuery } from '../soql/execute.ts';
import { parseSoql } from '../soql/parser.ts';
import type { EmulatorState, RestRequest } from '../state.ts';
import type { Route } from './route.ts';
import { methodNotAllowed } from './route.ts';

export function queryRoute(req: RestRequest): Route {
  const endpoint = req.segments[0] === 'queryAll' ? 'queryAll' : 'query';
  if (req.method !== 'GET') return methodNotAllowed(req.method, 'GET,HEAD');
  const locator = req.segments[1];
  if (locator)
    return {
      name: `${endpoint}.more`,
      run: (r, s) => ({ status: 200, body: s.cursors.next(locator, r.version) }),
    };
  return { name: endpoint, run: (r, s) => runQuery(r, s, endpoint) };
}

function runQuery(r: RestRequest, state: EmulatorState, endpoint: 'query' | 'queryAll'): Reply {
  const soql = r.query.get('q');
  if (!soql) throw new SalesforceApiError(400, 'MALFORMED_QUERY', 'A query string (q) is required');
  const query = parseSoql(soql);
  const result = executeQuery(query, {
    store: state.store,
    version: r.version,
    includeDeleted: endpoint === 'queryAll',
  });
  return {
    status: 200,
    body: state.cursors.first(result.rows, result.totalSize, r.version, endpoint, batchSize(r)),
  };
}

function batchSize(r: RestRequest): number | undefined {
  const match = /batchSize=(\d+)/i.exec(r.header('sforce-query-options') ?? '');
  return match ? Number(match[1]) : undefined;
}
