// The executor of each configured target: the official client, its limits, and the mapping from a
// recorded intent to a call. A target without credentials has no executor: its intents wait.
import type { Connection } from 'jsforce';
import type { TargetExecutor } from '../../actors/runtime/intent-scheduler.ts';
import type { StripeIntent, SalesforceIntent, TargetName } from '../../actors/customer/index.ts';
import { stripeClient } from '../stripe/client.ts';
import { executeStripeIntent } from '../stripe/executor.ts';
import { connectSalesforce } from '../salesforce/client.ts';
import { MAX_COLLECTION_RECORDS } from '../salesforce/batch.ts';
import { SalesforceCoalescer } from '../salesforce/coalescer.ts';
import type { SalesforceTarget } from '../salesforce/target.ts';

/** Well below the lease: a call that cannot be fenced must end before the lease can move. */
export const CALL_TIMEOUT_MS = 5_000;
/** Leases outlive a call with room to spare; a dead worker's partitions move within this. */
export const LEASE_TTL_MS = 20_000;

export interface ExecutorSettings {
  stripe?: {
    secretKey: string;
    apiBase?: string | undefined;
    /** Calls started per second; default `defaultStripeRate`. */
    rate?: number | undefined;
    /** Calls in flight at once; default 8. */
    concurrency?: number | undefined;
  };
  salesforce?: {
    loginUrl: string;
    clientId: string;
    clientSecret: string;
    /** How long a spent daily quota pauses the target; unset, the actor's default. */
    quotaPauseMs?: number;
  } & SalesforceTarget;
}

/** Stripe allows 25 requests/s in test mode and 100/s live; rtws stays under both. */
export function defaultStripeRate(secretKey: string): number {
  return secretKey.includes('_live_') ? 80 : 20;
}

export function targetExecutors(s: ExecutorSettings): Partial<Record<TargetName, TargetExecutor>> {
  const out: Partial<Record<TargetName, TargetExecutor>> = {};
  if (s.stripe) {
    const { secretKey, apiBase } = s.stripe;
    const stripe = stripeClient({ secretKey, apiBase, timeoutMs: CALL_TIMEOUT_MS });
    out.stripe = {
      limits: {
        concurrency: s.stripe.concurrency ?? 8,
        perSecond: s.stripe.rate ?? defaultStripeRate(secretKey),
      },
      execute: (_customerId, intent, call) =>
        executeStripeIntent(stripe, intent as StripeIntent, Date.now, call),
    };
  }
  if (s.salesforce) {
    const { loginUrl, clientId, clientSecret, quotaPauseMs, ...target } = s.salesforce;
    // Authorised on first use, not at startup, so a Salesforce that is down delays only its own
    // target; a failed grant is tried again on the next call. Expired sessions renew by refreshFn.
    let session: Promise<Connection> | undefined;
    const connection = () =>
      (session ??= connectSalesforce({
        loginUrl,
        clientId,
        clientSecret,
        timeoutMs: CALL_TIMEOUT_MS,
      }).catch((err: unknown) => {
        session = undefined;
        throw err;
      }));
    const coalescer = new SalesforceCoalescer({
      connection,
      target,
      ...(quotaPauseMs === undefined ? {} : { quotaPauseMs }),
    });
    out.salesforce = {
      // Enough customers' calls in flight to fill a Collections request, which the coalescer
      // sends as one call: Salesforce's budget counts calls, not records.
      limits: { concurrency: MAX_COLLECTION_RECORDS },
      execute: (customerId, intent) =>
        coalescer.execute({ customerId, intent: intent as SalesforceIntent }),
    };
  }
  return out;
}
