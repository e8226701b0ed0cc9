// A jsforce connection configured the way rtws needs it: the client-credentials grant, run again
// whenever the session expires (that grant issues no refresh token); every request tagged
// `Sforce-Call-Options: client=rtws`; a pinned API version; and an explicit timeout with no
// retries of jsforce's own, because rtws owns the retry policy and a hidden retry would stall a
// lease. With a budget, every REST call is counted against the org's daily allocation before it
// is sent, and its answer's `Sforce-Limit-Info` read back (daily-budget.ts).
import jsforce from 'jsforce';
import type { Connection } from 'jsforce';
import { Transport } from 'jsforce/lib/transport.js';
import type { HttpRequest, HttpRequestOptions, HttpResponse } from 'jsforce/lib/types/common.js';
import { StreamPromise } from 'jsforce/lib/util/promise.js';
import { createLazyStream } from 'jsforce/lib/util/stream.js';
import { parseLimitInfo, type CallTicket } from '../../core/policy/daily-budget.ts';
import { TimeoutError, withTimeout } from '../../core/timeout.ts';

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
  /** Counts every REST call against the org's daily allocation; unset, nothing is counted. */
  readonly budget?: CallCounter;
}

/** What counts REST calls (daily-budget.ts): `before` may refuse one, which is then not sent. */
export interface CallCounter {
  /** `org`: the org the connection's token names, when it names one. */
  before(o: { check: boolean; org?: string | undefined }): Promise<CallTicket>;
  after(ticket: CallTicket, usage: { used: number; limit: number } | undefined): Promise<void>;
}

/**
 * Marks a request made only to read the org's usage: it goes even when the budget is spent. The
 * transport takes the header off before sending.
 */
export const USAGE_CHECK_HEADER = 'x-rtws-usage-check';

/**
 * The calls Salesforce counts: the REST API below a version. Not the token grant, and not the
 * list of versions (`/services/data/`), which Salesforce does not count.
 */
const COUNTED = /\/services\/data\/v\d+\.\d+(\/|$|\?)/;

/**
 * The longest a call waits to be counted (a KV write or two): a call starts only while its lease
 * outlives its timeout by a second (CALL_SLACK_MS), and this may take no more than half of it. A
 * call not counted in time is not sent, and fails as transient.
 */
const COUNT_WITHIN_MS = 500;

/** Every request gets the timeout and no retries, whatever the jsforce method that sends it. */
class BoundedTransport extends Transport {
  constructor(
    private readonly timeoutMs: number,
    private readonly budget?: CallCounter,
    private readonly org?: () => string | undefined,
  ) {
    super();
  }

  override httpRequest(req: HttpRequest, options: HttpRequestOptions = {}) {
    const bounded = {
      ...options,
      timeout: this.timeoutMs,
      retry: { ...options.retry, maxRetries: 0 },
    };
    const budget = this.budget;
    if (!budget || !COUNTED.test(req.url)) return super.httpRequest(req, bounded);
    const { [USAGE_CHECK_HEADER]: check, ...headers } = req.headers ?? {};
    const send = () => super.httpRequest({ ...req, headers }, bounded);
    // Counted before it is sent, which takes a KV round trip: the stream jsforce reads the answer
    // from is handed over once the request is on its way, as jsforce's own HttpApi does.
    return StreamPromise.create(() => {
      const { stream, setStream } = createLazyStream();
      const promise = (async (): Promise<HttpResponse> => {
        const counting = budget.before({ check: check !== undefined, org: this.org?.() });
        const ticket = await withTimeout(counting, COUNT_WITHIN_MS, 'count of the call').catch(
          (err: unknown) => {
            // Not sent: once the count lands, it is given back rather than held until it expires.
            if (err instanceof TimeoutError)
              void counting.then((late) => budget.after(late, undefined)).catch(() => {});
            throw err;
          },
        );
        let res: HttpResponse;
        try {
          const sent = send();
          setStream(sent.stream());
          res = await sent;
        } catch (err) {
          await budget.after(ticket, undefined).catch(() => {});
          throw err;
        }
        const usage = parseLimitInfo(headerOf(res, 'sforce-limit-info'));
        // The answer is Salesforce's either way: a record that could not be updated is read again.
        await budget.after(ticket, usage).catch(() => {});
        return res;
      })();
      return { stream, promise };
    });
  }
}

function headerOf(res: HttpResponse, name: string): string | undefined {
  const found = Object.entries(res.headers ?? {}).find(([k]) => k.toLowerCase() === name);
  return found?.[1];
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
  const transport = new BoundedTransport(
    o.timeoutMs ?? 10_000,
    o.budget,
    () => conn.userInfo?.organizationId,
  );
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
  return organizationAt(await connectSalesforce(o), o.loginUrl);
}

/** The organization of an authorised connection, made through `loginUrl`: no API call. */
export function organizationAt(
  conn: Connection,
  loginUrl: string,
): { id: string; livemode: boolean } {
  const host = new URL(loginUrl).hostname;
  return {
    id: organizationOf(conn),
    livemode: !(host === 'test.salesforce.com' || host.includes('.sandbox.')),
  };
}

/** The org's usage, read with the cheapest call that answers with it: the version's resources. */
export async function checkUsage(conn: Connection): Promise<void> {
  await conn.request({ method: 'GET', url: '/', headers: { [USAGE_CHECK_HEADER]: '1' } });
}

/** The organization a connection's token names: no API call. */
export function organizationOf(conn: Connection): string {
  const id = conn.userInfo?.organizationId;
  if (!id) throw new Error('the Salesforce token response named no organization');
  return id;
}
