// The accounts of the targets a process calls, checked before anything starts: a start against
// another account than the one this database is bound to refuses to run. A worker calls both
// targets; the API calls Stripe too (a dry-run import reads the account), so it checks Stripe's.
// A process that calls neither (the publisher alone) checks nothing. A worker also checks the
// Salesforce object, external-id field and field map against the object's describe.
import type Stripe from 'stripe';
import type { Config } from '../../../core/config.ts';
import type { Logger } from '../../../core/ports.ts';
import type { TargetName } from '../../../actors/customer/index.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import type { Connection } from 'jsforce';
import { connectSalesforce, organizationAt } from '../../../adapters/salesforce/client.ts';
import { checkSalesforceTarget, salesforceTarget } from '../salesforce-target.ts';
import { checkStripeBinding } from './stripe-binding.ts';
import { checkTargetBinding, type TargetBinding } from './target-binding.ts';
import type { StripeStamp } from '../../../adapters/jetstream/inbound.ts';

export interface Bindings {
  /** False while the target's account is not verified yet: its calls wait. */
  readonly ready: (target: TargetName) => boolean;
  /** The Stripe account this database is bound to now. */
  readonly stripeAccount: () => string | undefined;
  /** That account with its mode, as INBOUND's events are stamped. */
  readonly stripeStamp: () => StripeStamp | undefined;
  /** The Salesforce org this database is bound to now. */
  readonly salesforceOrg: () => string | undefined;
  stop(): void;
}

/** The Stripe account and mode this process verified its key belongs to; none until it has. */
export function verifiedStripeAccount(
  bindings: Pick<Bindings, 'ready' | 'stripeStamp'>,
): () => StripeStamp | undefined {
  return () => (bindings.ready('stripe') ? bindings.stripeStamp() : undefined);
}

export interface BindingDeps {
  readonly sql: Sql;
  /** The Stripe client, when a key is configured. */
  readonly stripe: Stripe | undefined;
  readonly log: Logger;
  /** Between checks while Salesforce cannot be reached (default 5 s). */
  readonly salesforceRetryMs?: number;
}

/** Rejects on a mismatch (`AccountMismatchError`), having stopped what it had started. */
export async function checkBindings(config: Config, d: BindingDeps): Promise<Bindings> {
  const worker = config.roles.includes('worker');
  const callsStripe = worker || config.roles.includes('api');
  const { secretKey } = config.stripe;
  const stripe =
    d.stripe && secretKey && callsStripe
      ? await checkStripeBinding({ stripe: d.stripe, secretKey, sql: d.sql, log: d.log })
      : undefined;
  const salesforce = worker
    ? await checkSalesforceBinding(config, d).catch((err: unknown) => {
        stripe?.stop();
        throw err;
      })
    : undefined;
  return {
    ready: (target) =>
      target === 'stripe'
        ? (stripe?.bound ?? true)
        : target === 'salesforce'
          ? (salesforce?.bound ?? true)
          : true,
    stripeAccount: () => stripe?.accountId,
    stripeStamp: () =>
      stripe?.accountId === undefined || stripe.livemode === undefined
        ? undefined
        : { account: stripe.accountId, livemode: stripe.livemode },
    salesforceOrg: () => salesforce?.accountId,
    stop() {
      stripe?.stop();
      salesforce?.stop();
    },
  };
}

async function checkSalesforceBinding(
  config: Config,
  d: BindingDeps,
): Promise<TargetBinding | undefined> {
  const { loginUrl, clientId, clientSecret, fieldMapFile } = config.salesforce;
  if (!loginUrl || !clientId || !clientSecret) return undefined;
  const target = salesforceTarget(config);
  const timeoutMs = config.worker.callTimeoutMs;
  let conn: Connection | undefined;
  return checkTargetBinding({
    target: 'salesforce',
    credentials: 'credentials',
    account: async () => {
      conn = await connectSalesforce({ loginUrl, clientId, clientSecret, timeoutMs });
      return organizationAt(conn, loginUrl);
    },
    verify: () => checkSalesforceTarget(conn!, target, fieldMapFile),
    sql: d.sql,
    log: d.log,
    ...(d.salesforceRetryMs !== undefined ? { retryMs: d.salesforceRetryMs } : {}),
  });
}
