// `backfill --from stripe|postgres`: an import or an export, and `reconcile`: a reconciliation; run
// by a worker if one runs, else here.
import { jetstream } from '@nats-io/jetstream';
import type { Config } from '../../core/config.ts';
import { ConfigError } from '../../core/errors.ts';
import { silentLogger } from '../../core/ports.ts';

import type { TargetName } from '../../actors/customer/index.ts';
import { jetStreamPublisher } from '../../adapters/jetstream/durable-publisher.ts';
import { inboundPublisher } from '../../adapters/jetstream/inbound.ts';
import { leaseHolders } from '../../adapters/jetstream/lease-holders.ts';
import {
  BackfillActiveError,
  createBackfill,
  getBackfill,
  type Backfill,
  type BackfillSource,
  type BackfillState,
} from '../../adapters/postgres/backfills.ts';
import { bindingOf } from '../../adapters/postgres/bindings.ts';
import { stripeAccount } from '../../adapters/stripe/account.ts';
import { stripeClient } from '../../adapters/stripe/client.ts';
import {
  backfillRunner,
  dryRunBackfill,
  type BackfillSources,
} from '../wiring/backfill/backfill-runner.ts';
import { resyncer } from '../wiring/backfill/resync.ts';
import { salesforceReader } from '../wiring/backfill/backfill-sources.ts';
import { progressPrinter } from './progress.ts';
import { withConnections, type CliConnections } from './connections.ts';
import { openSalesforceBudget } from '../wiring/worker/salesforce-budget.ts';
import type { SalesforceDailyBudget } from '../../adapters/salesforce/daily-budget.ts';
import { Refused } from './refused.ts';

/**
 * Starts a backfill (or follows the one of this source already active) and shows its progress:
 * a bar with an ETA on a terminal, JSON lines otherwise. A running rtws worker runs it, paced
 * behind live changes; with none running, this process runs it. A dry run decides here and
 * writes nothing.
 */
export async function backfill(
  config: Config,
  source: BackfillSource,
  o: { dryRun: boolean; adoptOrphans: boolean; invoices: boolean },
): Promise<number> {
  const targets: TargetName[] = [];
  if (config.stripe.secretKey) targets.push('stripe');
  if (config.salesforce.loginUrl) targets.push('salesforce');
  const secretKey = config.stripe.secretKey;
  const readsSalesforce = salesforceReader(config) !== undefined;
  const readsStripe = source === 'stripe' || (source === 'reconcile' && secretKey !== undefined);
  if (source === 'stripe' && !secretKey)
    throw new ConfigError('STRIPE_SECRET_KEY', "an import needs the account's key");
  if (source === 'reconcile' && !secretKey && !readsSalesforce)
    throw new ConfigError('STRIPE_SECRET_KEY', 'a reconciliation needs Stripe or Salesforce');
  if (source === 'postgres' && targets.length === 0)
    throw new ConfigError('STRIPE_SECRET_KEY', 'an export needs a configured target');
  return withConnections(config, (c) =>
    withSalesforceBudget(config, c, async (sfBudget) => {
      const { sql, nats, names } = c;
      const salesforce = salesforceReader(config, sfBudget);
      const publisher = jetStreamPublisher(jetstream(nats));
      const stripe = secretKey
        ? stripeClient({ secretKey, apiBase: config.stripe.apiBase })
        : undefined;
      let accountId: string | undefined;
      if (stripe && secretKey && readsStripe) {
        const account = await stripeAccount(stripe, secretKey);
        accountId = account.id;
        const bound = await bindingOf(sql, 'stripe');
        if (bound && (bound.accountId !== account.id || bound.livemode !== account.livemode))
          throw new Refused(
            `this database is bound to ${bound.accountId}; the key belongs to ${account.id}: nothing was read`,
          );
      }
      const sources: BackfillSources = {
        postgres: resyncer({ sql, publisher, names, targets }),
        reconcile: {
          sql,
          publisher,
          names,
          binding: () => accountId,
          ...(stripe ? { stripe } : {}),
          ...(salesforce ? { salesforce } : {}),
        },
        ...(stripe
          ? {
              stripe: {
                stripe,
                sql,
                publisher,
                publishInbound: inboundPublisher(jetstream(nats)),
                names,
                match: config.match,
                binding: () => accountId,
              },
            }
          : {}),
        // Past its part of rtws's share of the org's daily calls, a backfill waits here too.
        ...(sfBudget ? { paced: () => sfBudget.whenAllows('backfill') } : {}),
      };
      const options = {
        ...(o.adoptOrphans ? { adopt_orphans: true } : {}),
        ...(o.invoices ? { objects: ['customer' as const, 'invoice' as const] } : {}),
        ...(source === 'postgres' ? { targets } : {}),
      };
      const show = progressPrinter();
      if (o.dryRun) {
        const result = await dryRunBackfill(sources, source, options, (scanned) =>
          show.line({ dry_run: true, scanned }),
        );
        show.end();
        console.log(JSON.stringify(result));
        return 0;
      }
      let b: Backfill;
      try {
        b = await createBackfill(sql, source, options);
        show.note(`backfill ${b.id} started (GET /backfills/${b.id})`);
      } catch (err) {
        if (!(err instanceof BackfillActiveError)) throw err;
        b = err.active;
        show.note(`backfill ${b.id} of ${source} is already ${b.state}: following it`);
      }
      const workers = await leaseHolders(nats, names);
      const runner =
        workers.length === 0
          ? backfillRunner({ sql, sources, log: silentLogger, onPage: (p) => show.progress(p) })
          : undefined;
      let ranHere = false;
      if (runner) {
        show.note('no rtws worker is running: running it here');
        const stop = () => void runner.stop();
        process.once('SIGINT', stop);
        // False when a process that started meanwhile runs it: then this one follows it.
        ranHere = await runner.run(b.id);
        process.off('SIGINT', stop);
      }
      for (;;) {
        b = (await getBackfill(sql, b.id)) ?? b;
        show.progress(b);
        if (b.state !== 'running' || ranHere) break;
        await new Promise((r) => setTimeout(r, 1_000));
      }
      show.end();
      const verdict: Record<BackfillState, string> = {
        running:
          'stopped here; it stays running: an rtws worker, or this command again, carries it on',
        paused: `paused: POST /backfills/${b.id}/resume carries it on`,
        done: 'done',
        failed: `failed: ${b.error ?? 'unknown error'}`,
        cancelled: 'cancelled',
      };
      console.log(
        JSON.stringify({ backfill: b.id, state: b.state, scanned: b.scanned, counts: b.counts }),
      );
      console.error(`backfill ${b.id}: ${verdict[b.state]}`);
      return b.state === 'failed' ? 1 : 0;
    }),
  );
}

/**
 * Runs `work` with the Salesforce org's daily budget open, when Salesforce is configured: this
 * process's reads of Salesforce count against it as a worker's do.
 */
async function withSalesforceBudget<T>(
  config: Config,
  c: CliConnections,
  work: (budget: SalesforceDailyBudget | undefined) => Promise<T>,
): Promise<T> {
  const budget = await openSalesforceBudget(config, { ...c, log: silentLogger });
  try {
    return await work(budget);
  } finally {
    budget?.close();
  }
}
