// A jsforce connection configured the way rtws needs it: the client-credentials grant, run again
// whenever the session expires (that grant issues no refresh token); every request tagged
// `Sforce-Call-Options: client=rtws`; a pinned API version; and an explicit timeout with no
// retries of jsforce's own, because rtws owns the retry policy and a hidden retry would stall a
// lease.
import jsforce from 'jsforce';
import type { Connection } from 'jsforce';
import { Transport } from 'jsforce/lib/transport.js';
import type { HttpRequest, HttpRequestOptions } from 'jsforce/lib/types/common.js';

/** The API version rtws speaks: ≥ 46.0, where the sObject Collections upsert exists. */
export const SALESFORCE_API_VERSION = '62.0';

/** The client name Salesforce's usage reports show for our calls. */
export const SALESFORCE_CALL_CLIENT = 'rtws';

export interface SalesforceClientOptions {
  /** The login (My Domain) URL; the token response names the instance. */
  readonly loginUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Per request, well below the worker's lease. Default 10 s. */
  readonly timeoutMs?: number;
}

/** Every request gets the timeout and no retries, whatever the jsforce method that sends it. */
class BoundedTransport extends Transport {
  constructor(private readonly timeoutMs: number) {
    super();
  }

  override httpRequest(req: HttpRequest, options: HttpRequestOptions = {}) {
    return super.httpRequest(req, {
      ...options,
      timeout: this.timeoutMs,
      retry: { ...options.retry, maxRetries: 0 },
    });
  }
}

/** A connection, not yet authorised: `connectSalesforce` authorises it. */
export function salesforceConnection(o: SalesforceClientOptions): Connection {
  const conn = new jsforce.Connection({
    oauth2: { loginUrl: o.loginUrl, clientId: o.clientId, clientSecret: o.clientSecret },
    version: SALESFORCE_API_VERSION,
    callOptions: { client: SALESFORCE_CALL_CLIENT },
    refreshFn: (c, callback) => {
      c.authorize({ grant_type: 'client_credentials' }).then(
        () => {
          callback(null, c.accessToken ?? undefined);
        },
        (err: Error) => {
          callback(err);
        },
      );
    },
  });
  const transport = new BoundedTransport(o.timeoutMs ?? 10_000);
  conn._transport = transport;
  conn.oauth2._transport = transport;
  return conn;
}

/** A connection with a session; an expired session is renewed on the next call that meets it. */
export async function connectSalesforce(o: SalesforceClientOptions): Promise<Connection> {
  const conn = salesforceConnection(o);
  await conn.authorize({ grant_type: 'client_credentials' });
  return conn;
}

/**
 * The organization the credentials belong to, from the identity URL of the token response
 * (`…/id/<orgId>/<userId>`). A sandbox is told by its login URL (`test.salesforce.com`, or a My
 * Domain with `.sandbox.`): it is bound as not live.
 */
export async function salesforceOrganization(
  o: SalesforceClientOptions,
): Promise<{ id: string; livemode: boolean }> {
  const conn = await connectSalesforce(o);
  const id = conn.userInfo?.organizationId;
  if (!id) throw new Error('the Salesforce token response named no organization');
  const host = new URL(o.loginUrl).hostname;
  return { id, livemode: !(host === 'test.salesforce.com' || host.includes('.sandbox.')) };
}
