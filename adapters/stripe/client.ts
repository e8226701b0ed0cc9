// The official SDK, configured the way rtws needs it: a pinned API version, no SDK retries (rtws
// owns the retry policy, and an SDK retry would hide an uncertain outcome), an explicit timeout well
// below the lease, and a keep-alive agent.
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import Stripe from 'stripe';

/** The API version rtws speaks; webhooks of another version are logged. */
export const STRIPE_API_VERSION = '2026-10-28.endive' as const;

export interface StripeClientOptions {
  secretKey: string;
  /** Origin without /v1, e.g. http://127.0.0.1:12111; unset means api.stripe.com. */
  apiBase?: string | undefined;
  timeoutMs?: number;
}

export function stripeClient(o: StripeClientOptions): Stripe {
  return stripeClients(o)();
}

/** Makes clients as `stripeClient` does, all on one keep-alive agent (their connections shared). */
export function stripeClients(o: StripeClientOptions): () => Stripe {
  const base = o.apiBase ? new URL(o.apiBase) : undefined;
  const secure = !base || base.protocol === 'https:';
  const agent = secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  return () =>
    new Stripe(o.secretKey, {
      apiVersion: STRIPE_API_VERSION,
      maxNetworkRetries: 0,
      timeout: o.timeoutMs ?? 10_000,
      httpAgent: agent,
      telemetry: false,
      appInfo: { name: 'rtws' },
      ...(base
        ? {
            host: base.hostname,
            port: Number(base.port || (secure ? 443 : 80)),
            protocol: secure ? ('https' as const) : ('http' as const),
          }
        : {}),
    });
}
