// The executor of each configured target: the official client, its limits, and the mapping from a
// recorded intent to a call. A target without credentials has no executor: its intents wait.
import type { Connection } from 'jsforce';
import type { Config } from '../../../core/config.ts';
import type { Logger } from '../../../core/ports.ts';
import type { CustomerExecutor } from '../../../actors/customer/kind.ts';
import type { RequestBudget } from '../../../actors/runtime/intent-scheduler.ts';
import type { SearchBudget } from '../../../adapters/postgres/stripe-match.ts';
import type { StripeIntent, SalesforceIntent, TargetName } from '../../../actors/customer/index.ts';
import { stripeClients } from '../../../adapters/stripe/client.ts';
import { executeStripeIntent } from '../../../adapters/stripe/executor.ts';
import { scopedStripe } from '../../../adapters/stripe/call-log.ts';
import { defaultStripeRate, lookupsPerSecond } from '../../../adapters/stripe/rate-limits.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import { matchSettings } from '../../../adapters/postgres/stripe-match.ts';
import { connectSalesforce, type CallCounter } from '../../../adapters/salesforce/client.ts';
import { MAX_COLLECTION_RECORDS } from '../../../adapters/salesforce/batch.ts';
import { SalesforceCoalescer } from '../../../adapters/salesforce/coalescer.ts';
import type { SalesforceTarget } from '../../../adapters/salesforce/target.ts';
import { salesforceTarget } from '../salesforce-target.ts';
import { correlatedExecutor } from './correlated-executor.ts';

export interface ExecutorSettings {
  /** Every call's timeout (RTWS_CALL_TIMEOUT_MS): a call that cannot be fenced ends in time. */
  callTimeoutMs: number;
  /** Where each external call is logged, with its correlation id; unset: calls are not logged. */
  log?: Logger;
  /**
   * The catalogue: with it, the lookup before a Stripe create is serialised per email across
   * processes (a Postgres advisory lock) and reads the link table; without it, within this
   * process only.
   */
  sql?: Sql;
  stripe?: {
    secretKey: string;
    apiBase?: string | undefined;
    /** Calls started per second; default `defaultStripeRate`. */
    rate?: number | undefined;
    /** Calls in flight at once; default 8. */
    concurrency?: number | undefined;
    /** The account's budget shared with other processes; unset: this process's own. */
    budget?: RequestBudget | undefined;
    /** The account's search budget (lookups before creates) shared likewise; unset: per process. */
    searchBudget?: SearchBudget | undefined;
    /** Match before create (RTWS_MATCH_BY, RTWS_MATCH_MERGE); unset: creates are sent as they are. */
    match?: { by: 'email' | 'none'; merge: 'stripe' | 'catalogue' } | undefined;
  };
  salesforce?: {
    loginUrl: string;
    clientId: string;
    clientSecret: string;
    /** How long a spent daily quota pauses the target; unset, the actor's default. */
    quotaPauseMs?: number;
    /** The org's daily budget, shared with other processes (RTWS_SALESFORCE_DAILY_BUDGET). */
    budget?: CallCounter | undefined;
    /** Salesforce's edits are read back (RTWS_SALESFORCE_POLL_S > 0): pushes decided earlier are checked. */
    readsChanges: boolean;
  } & SalesforceTarget;
}

/** The executors of the targets the configuration has credentials for. */
export function buildExecutors(
  config: Config,
  sql: Sql,
  stripeBudgets?: { calls: RequestBudget; searches: SearchBudget },
  salesforceBudget?: CallCounter,
  log?: Logger,
): Partial<Record<TargetName, CustomerExecutor>> {
  const { secretKey } = config.stripe;
  const { loginUrl, clientId, clientSecret } = config.salesforce;
  return targetExecutors({
    sql,
    callTimeoutMs: config.worker.callTimeoutMs,
    ...(log ? { log } : {}),
    ...(secretKey
      ? {
          stripe: {
            ...config.stripe,
            secretKey,
            match: config.match,
            budget: stripeBudgets?.calls,
            searchBudget: stripeBudgets?.searches,
          },
        }
      : {}),
    ...(loginUrl && clientId && clientSecret
      ? {
          salesforce: {
            ...salesforceTarget(config),
            loginUrl,
            clientId,
            clientSecret,
            quotaPauseMs: config.salesforce.quotaPauseMs,
            budget: salesforceBudget,
            readsChanges: config.salesforce.pollS > 0,
          },
        }
      : {}),
  });
}

export function targetExecutors(
  s: ExecutorSettings,
): Partial<Record<TargetName, CustomerExecutor>> {
  const out: Partial<Record<TargetName, CustomerExecutor>> = {};
  if (s.stripe) {
    const { secretKey, apiBase } = s.stripe;
    // Each intent's calls are logged with the change it serves.
    const stripe = scopedStripe(
      stripeClients({ secretKey, apiBase, timeoutMs: s.callTimeoutMs }),
      s.log,
    );
    const perSecond = s.stripe.rate ?? defaultStripeRate(secretKey);
    const match = s.stripe.match
      ? matchSettings(s.stripe.match, s.sql, {
          lockWaitMs: s.callTimeoutMs,
          lookupsPerSecond: lookupsPerSecond(perSecond),
          ...(s.stripe.searchBudget ? { shared: s.stripe.searchBudget } : {}),
        })
      : undefined;
    out.stripe = correlatedExecutor(
      'stripe',
      {
        limits: {
          concurrency: s.stripe.concurrency ?? 8,
          perSecond,
          ...(s.stripe.budget ? { budget: s.stripe.budget } : {}),
        },
        execute: (_customerId, intent, call, scope) =>
          stripe.run(scope, (client) =>
            executeStripeIntent(client, intent as StripeIntent, Date.now, call, match),
          ),
      },
      { actor: 'customer_id' },
    );
  }
  if (s.salesforce) {
    const { loginUrl, clientId, clientSecret, quotaPauseMs, budget, readsChanges, ...target } =
      s.salesforce;
    // Authorised on first use, not at startup, so a Salesforce that is down delays only its own
    // target; a failed grant is tried again on the next call. Expired sessions renew by refreshFn.
    let session: Promise<Connection> | undefined;
    const connection = () =>
      (session ??= connectSalesforce({
        loginUrl,
        clientId,
        clientSecret,
        timeoutMs: s.callTimeoutMs,
        ...(budget ? { budget } : {}),
      }).catch((err: unknown) => {
        session = undefined;
        throw err;
      }));
    const coalescer = new SalesforceCoalescer({
      connection,
      target,
      readsChanges,
      ...(quotaPauseMs === undefined ? {} : { quotaPauseMs }),
    });
    out.salesforce = correlatedExecutor(
      'salesforce',
      {
        // Enough customers' calls in flight to fill a Collections request, which the coalescer
        // sends as one call: Salesforce's budget counts calls, not records.
        limits: { concurrency: MAX_COLLECTION_RECORDS },
        execute: (customerId, intent, call) =>
          coalescer.execute({ customerId, intent: intent as SalesforceIntent }, call),
      },
      { actor: 'customer_id', log: s.log },
    );
  }
  return out;
}
