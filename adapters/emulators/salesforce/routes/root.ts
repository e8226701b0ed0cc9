// Sends each request to its handler by path: control endpoints, CometD, OAuth, identity, SOAP
// login and REST.
import type { IncomingMessage } from 'node:http';
import type { SalesforceEmulator } from '../api.ts';
import type { Identity } from '../auth.ts';
import type { CometdEndpoint } from '../cometd/endpoint.ts';
import type { Reply } from '../http.ts';
import type { EmulatorState } from '../state.ts';
import { controlReply } from './control.ts';
import { identityReply, revokeReply, tokenReply } from './oauth.ts';
import { handleRest, versionsReply } from './rest.ts';
import { soapLoginReply } from './soap.ts';

/** Everything the handlers need from the running emulator. */
export interface Routing {
  readonly emulator: SalesforceEmulator;
  readonly state: EmulatorState;
  readonly cometd: CometdEndpoint;
  readonly identity: Identity;
  readonly username: string;
}

export async function routeRequest(
  routing: Routing,
  req: IncomingMessage,
  url: URL,
  body: string,
  signal: AbortSignal,
): Promise<Reply> {
  const { state, identity } = routing;
  const path = url.pathname;
  const method = req.method ?? 'GET';
  if (path.startsWith('/_emulator/')) return controlReply(method, url, body, routing.emulator);
  if (path === '/cometd' || path.startsWith('/cometd/'))
    return routing.cometd.handle({
      method,
      path,
      authorization: req.headers.authorization,
      websocket: /websocket/i.test(req.headers.upgrade ?? ''),
      body,
      signal,
    });
  if (path === '/services/oauth2/token') return tokenReply(method, body, state);
  if (path === '/services/oauth2/revoke') return revokeReply(url, body, state);
  if (path.startsWith('/id/'))
    return identityReply(req.headers.authorization, identity, routing.username, state);
  const soap = /^\/services\/Soap\/u\/(\d+\.\d)\/?$/.exec(path);
  if (soap && method === 'POST') return soapLoginReply(soap[1]!, body, identity, state);
  if (path === '/services/data' || path === '/services/data/') return versionsReply();
  if (path.startsWith('/services/data/')) return handleRest(req, url, body, state);
  return {
    status: 404,
    body: [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }],
  };
}
