// What backfills read from and publish to: the catalogue (exports, resyncs) and, with a Stripe key,
// the Stripe account (imports). Both the runner and the API's dry runs use them.
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type Stripe from 'stripe';
import type { Config } from '../../../core/config.ts';
import type { Names } from '../../../core/subjects.ts';
import { jetStreamPublisher } from '../../../adapters/jetstream/durable-publisher.ts';
import { openSnapshotStore } from '../../../adapters/jetstream/kv-snapshot-store.ts';
import { inboundPublisher } from '../../../adapters/jetstream/inbound.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import { verifiedStripeAccount, type Bindings } from '../binding/check-bindings.ts';
import type { BackfillSources } from './backfill-runner.ts';
import type { Resync } from './resync.ts';
import type { ActorKnows } from './reconcile-behind.ts';
import type { SalesforceReadDeps } from './reconcile-salesforce.ts';
import type { Connection } from 'jsforce';
import { connectSalesforce, type CallCounter } from '../../../adapters/salesforce/client.ts';
import type { SalesforceDailyBudget } from '../../../adapters/salesforce/daily-budget.ts';
import { salesforceTarget } from '../salesforce-target.ts';

export interface BackfillSourceDeps {
  readonly sql: Sql;
  readonly nats: NatsConnection;
  readonly names: Names;
  readonly stripe: Stripe | undefined;
  readonly resync: Resync;
  readonly bindings: Bindings;
  readonly pacing: BackfillPacing;
  /** Counts the reads of Salesforce against the org's daily budget. */
  readonly salesforceBudget?: CallCounter | undefined;
}

export function backfillSources(config: Config, d: BackfillSourceDeps): BackfillSources {
  const { stripe, sql, names } = d;
  const salesforce = salesforceReader(config, d.salesforceBudget);
  return {
    ...(stripe || salesforce
      ? {
          reconcile: {
            sql,
            publisher: jetStreamPublisher(jetstream(d.nats)),
            names,
            binding: d.bindings.stripeStamp,
            actorKnows: actorKnowledge(d.nats, names),
            keepDays: config.stripe.reconcileKeepDays,
            ...(stripe ? { stripe } : {}),
            ...(salesforce ? { salesforce } : {}),
          },
        }
      : {}),
    postgres: d.resync,
    ...(stripe
      ? {
          stripe: {
            stripe,
            sql,
            publisher: jetStreamPublisher(jetstream(d.nats)),
            publishInbound: inboundPublisher(jetstream(d.nats), {
              account: verifiedStripeAccount(d.bindings),
            }),
            names,
            match: config.match,
            binding: d.bindings.stripeStamp,
          },
        }
      : {}),
    paced: () => d.pacing.wait(),
  };
}

export interface BackfillPacing {
  /** Backfills in this process wait for room in this worker's Stripe budget from now on. */
  follow(worker: { whenIdle(target: 'stripe'): Promise<void> }): void;
  /** Rejects while the Stripe account is not verified; else resolves once live calls leave room. */
  wait(): Promise<void>;
}

/**
 * Backfills go after live changes: they wait for room in the Stripe budget of this process, and
 * while the Salesforce org's usage is past the part of rtws's daily share left to them. Every
 * backfill waits for Salesforce, a Stripe import too: the customers it brings reach Salesforce.
 */
export function backfillPacing(
  bindings: Pick<Bindings, 'ready'>,
  salesforce?: Pick<SalesforceDailyBudget, 'whenAllows'>,
): BackfillPacing {
  let whenIdle: (() => Promise<void>) | undefined;
  return {
    follow(worker) {
      whenIdle = () => worker.whenIdle('stripe');
    },
    async wait() {
      if (!bindings.ready('stripe')) throw new Error('the Stripe account is not verified yet');
      await whenIdle?.();
      await salesforce?.whenAllows('backfill');
    },
  };
}

/** Salesforce as a reconciliation reads it, when it is configured; authorised on first use. */
export function salesforceReader(
  config: Config,
  budget?: CallCounter,
): SalesforceReadDeps | undefined {
  const { loginUrl, clientId, clientSecret, onRemoteDelete } = config.salesforce;
  if (!loginUrl || !clientId || !clientSecret) return undefined;
  let session: Promise<Connection> | undefined;
  return {
    target: salesforceTarget(config),
    onRemoteDelete,
    readsBack: config.salesforce.pollS > 0,
    connection: () =>
      (session ??= connectSalesforce({
        loginUrl,
        clientId,
        clientSecret,
        timeoutMs: config.worker.callTimeoutMs,
        ...(budget ? { budget } : {}),
      }).catch((err: unknown) => {
        session = undefined;
        throw err;
      })),
  };
}

/** The version each customer's actor last took from the catalogue, read from its snapshot. */
export function actorKnowledge(
  nats: NatsConnection,
  names: Names,
): (customerId: string) => Promise<ActorKnows | undefined> {
  let store: ReturnType<typeof openSnapshotStore> | undefined;
  return async (customerId) => {
    store ??= openSnapshotStore(jetstream(nats), names.bucket('ACTORS')).catch((err: unknown) => {
      store = undefined;
      throw err;
    });
    const stored = await (await store).load(customerId);
    const desired = (
      stored?.value as {
        snapshot?: { context?: { desired?: { version?: unknown; deleted?: unknown } } };
      }
    )?.snapshot?.context?.desired;
    return typeof desired?.version === 'number'
      ? { version: desired.version, deleted: desired.deleted === true }
      : undefined;
  };
}
