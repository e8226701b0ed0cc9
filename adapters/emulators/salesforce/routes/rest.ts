// The REST API below `/services/data/`: version check, session check, daily budget, injected
// faults, accounting, then the endpoint. Every answer carries `Sforce-Limit-Info`.
import type { IncomingMessage } from 'node:http';
import { SalesforceApiError, notFound, requestLimitExceeded, sessionInvalid } from '../errors.ts';
import type { Reply } from '../http.ts';
import { errorReply, parseJson } from '../http.ts';
import { restChangeOrigin } from '../cdc/index.ts';
import type { EmulatorState, RestRequest } from '../state.ts';
import { collectionsRoute } from './collections.ts';
import { limitsRoute } from './limits.ts';
import { queryRoute } from './query.ts';
import type { Route } from './route.ts';
import { notFoundRoute } from './route.ts';
import { sobjectRoute } from './sobjects.ts';

const VERSION = /^v(\d{2,3})\.(\d)$/;
const LISTED_VERSIONS = Array.from({ length: 63 - 20 }, (_, i) => `${20 + i}.0`);

/** `GET /services/data/`: the versions served; no session needed. */
export function versionsReply(): Reply {
  return {
    status: 200,
    body: LISTED_VERSIONS.map((version) => ({
      label: `v${version}`,
      url: `/services/data/v${version}`,
      version,
    })),
  };
}

/** Handles a request whose path starts with `/services/data/v`. */
export function handleRest(
  req: IncomingMessage,
  url: URL,
  bodyText: string,
  state: EmulatorState,
): Reply {
  const reply = dispatch(req, url, bodyText, state);
  return { ...reply, headers: { ...reply.headers, 'Sforce-Limit-Info': state.usage.header() } };
}

function dispatch(req: IncomingMessage, url: URL, bodyText: string, state: EmulatorState): Reply {
  try {
    const rest = restRequest(req, url, bodyText);
    if (!state.tokens.verify(req.headers.authorization)) return errorReply(sessionInvalid());
    if (!state.usage.allows()) return errorReply(requestLimitExceeded());
    const route = resolve(rest);
    const callOptions = rest.header('sforce-call-options');
    state.usage.count(route.name, callOptions);
    const fault = state.faults.take(rest.method, rest.path);
    if (fault?.phase === 'before') return errorReply(fault.error);
    // The request is one transaction: its writes become change events naming this API call.
    const reply = state.cdc.run(restChangeOrigin(rest.version, callOptions), () =>
      route.run(rest, state),
    );
    return fault ? errorReply(fault.error) : reply;
  } catch (err) {
    if (err instanceof SalesforceApiError) return errorReply(err);
    throw err;
  }
}

function restRequest(req: IncomingMessage, url: URL, bodyText: string): RestRequest {
  const [version = '', ...raw] = url.pathname
    .split('/')
    .slice(3)
    .filter((s, i, all) => s !== '' || i < all.length - 1);
  const match = VERSION.exec(version);
  if (!match) throw notFound();
  let segments: string[];
  try {
    segments = raw.map((s) => decodeURIComponent(s));
  } catch (err) {
    throw new SalesforceApiError(
      404,
      'NOT_FOUND',
      'The requested resource does not exist',
      undefined,
      { cause: err },
    );
  }
  let parsed: { value: unknown } | undefined;
  return {
    method: req.method ?? 'GET',
    path: url.pathname,
    segments,
    query: url.searchParams,
    version,
    majorVersion: Number(match[1]),
    header: (name) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    },
    json: () => (parsed ??= { value: parseJson(bodyText) }).value,
  };
}

function resolve(req: RestRequest): Route {
  const [first, second] = req.segments;
  switch (first) {
    case 'sobjects':
      return sobjectRoute(req);
    case 'composite':
      return second === 'sobjects' ? collectionsRoute(req) : notFoundRoute;
    case 'query':
    case 'queryAll':
      return queryRoute(req);
    case 'limits':
      return req.segments.length === 1 ? limitsRoute(req.method) : notFoundRoute;
    case undefined:
      return { name: 'resources', run: (r) => ({ status: 200, body: resources(r.version) }) };
    default:
      return notFoundRoute;
  }
}

function resources(version: string): Record<string, string> {
  const base = `/services/data/${version}`;
  return {
    sobjects: `${base}/sobjects`,
    query: `${base}/query`,
    queryAll: `${base}/queryAll`,
    limits: `${base}/limits`,
    composite: `${base}/composite`,
  };
}
