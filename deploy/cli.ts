// `npm run rtws -- <command>`: operator commands, configured by the same environment as rtws.
//   rebind stripe --confirm <acct_id> [--discard-inbound]
//                                       bind this database to the account of STRIPE_SECRET_KEY
//   rebind salesforce --confirm <org_id>
//                                       bind it to the organization of the Salesforce credentials
//   backfill --from stripe [--dry-run] [--adopt-orphans] [--invoices]
//                                       bring the bound account's customers into the catalogue
//   backfill --from postgres [--dry-run]
//                                       offer catalogue customers missing a link to their targets
// Exit codes: 0 done, 1 refused or failed (with the reason), 2 bad usage or configuration.
import { parseArgs } from 'node:util';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { loadConfig, type Config } from '../core/config.ts';
import { ConcurrencyError, ConfigError } from '../core/errors.ts';
import { names as subjectNames, type Names } from '../core/subjects.ts';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../adapters/jetstream/connect.ts';
import { openSnapshotStore } from '../adapters/jetstream/kv-snapshot-store.ts';
import { connectPostgres, ensureDatabase } from '../adapters/postgres/connect.ts';
import { migrate } from '../adapters/postgres/migrate.ts';
import { rebindTarget } from '../adapters/postgres/rebind.ts';
import { stripeAccount } from '../adapters/stripe/account.ts';
import { stripeClient } from '../adapters/stripe/client.ts';
import { salesforceOrganization } from '../adapters/salesforce/client.ts';
import {
  forgetTargetAccount,
  type PersistedCustomer,
  type TargetName,
} from '../actors/customer/index.ts';
import { jetStreamPublisher } from '../adapters/jetstream/durable-publisher.ts';
import { inboundPublisher } from '../adapters/jetstream/inbound.ts';
import { resyncer } from './wiring/backfill/resync.ts';
import { backlogOf } from '../adapters/jetstream/consumer-progress.ts';
import { INBOUND_DURABLES, inboundDurableName } from '../adapters/jetstream/inbound-durables.ts';
import { bindingOf } from '../adapters/postgres/bindings.ts';
import {
  BackfillActiveError,
  createBackfill,
  getBackfill,
  progressOf,
  type Backfill,
  type BackfillSource,
  type BackfillState,
} from '../adapters/postgres/backfills.ts';
import {
  backfillRunner,
  dryRunBackfill,
  type BackfillSources,
} from './wiring/backfill/backfill-runner.ts';
import { silentLogger } from '../core/ports.ts';

const USAGE = [
  'usage: npm run rtws -- rebind stripe --confirm <acct_id> [--discard-inbound]',
  '       npm run rtws -- rebind salesforce --confirm <org_id>',
  '       npm run rtws -- backfill --from stripe [--dry-run] [--adopt-orphans] [--invoices]',
  '       npm run rtws -- backfill --from postgres [--dry-run]',
].join('\n');

class Refused extends Error {}

function args() {
  return parseArgs({
    allowPositionals: true,
    options: {
      confirm: { type: 'string' },
      from: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      'adopt-orphans': { type: 'boolean', default: false },
      invoices: { type: 'boolean', default: false },
      'discard-inbound': { type: 'boolean', default: false },
    },
  });
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof args>;
  try {
    parsed = args();
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, target] = positionals;
  const from = values.from;
  const adoptOrphans = values['adopt-orphans'];
  if (
    command === 'backfill' &&
    positionals.length === 1 &&
    (from === 'stripe' || (from === 'postgres' && !adoptOrphans && !values.invoices))
  )
    return backfill(loadConfig(process.env), from, {
      dryRun: values['dry-run'],
      adoptOrphans,
      invoices: values.invoices,
    });
  if (
    command === 'rebind' &&
    (target === 'stripe' || target === 'salesforce') &&
    positionals.length === 2 &&
    values.confirm
  )
    return rebind(loadConfig(process.env), target, values.confirm, values['discard-inbound']);
  console.error(USAGE);
  return 2;
}

/** The account the configured credentials of `target` belong to. */
async function accountOf(
  config: Config,
  target: TargetName,
): Promise<{ id: string; livemode: boolean }> {
  if (target === 'stripe') {
    const secretKey = config.stripe.secretKey;
    if (!secretKey)
      throw new ConfigError('STRIPE_SECRET_KEY', "rebind needs the new account's key");
    return stripeAccount(stripeClient({ secretKey, apiBase: config.stripe.apiBase }), secretKey);
  }
  const { loginUrl, clientId, clientSecret } = config.salesforce;
  if (!loginUrl || !clientId || !clientSecret)
    throw new ConfigError(
      'SALESFORCE_LOGIN_URL',
      "rebind needs the new organization's credentials",
    );
  return salesforceOrganization({ loginUrl, clientId, clientSecret });
}

/** Binds this database to the account the target's credentials belong to, which must be `confirm`. */
async function rebind(
  config: Config,
  target: TargetName,
  confirm: string,
  discardInbound: boolean,
): Promise<number> {
  const account = await accountOf(config, target);
  if (account.id !== confirm)
    throw new Refused(
      `${target === 'stripe' ? 'STRIPE_SECRET_KEY belongs' : 'the Salesforce credentials belong'} to ${account.id}, not ${confirm}: nothing was changed`,
    );
  await ensureDatabase(config.databaseUrl);
  const sql = connectPostgres(config.databaseUrl, { applicationName: 'rtws-cli' });
  const nats = await connectNats({ servers: config.natsServers, name: 'rtws-cli' });
  try {
    await migrate(sql);
    const names = subjectNames(config.namespace, config.partitions);
    const holders = await leaseHolders(nats, names);
    if (holders.length > 0)
      throw new Refused(
        `workers still hold partitions (${holders.join(', ')}): stop every rtws worker first`,
      );
    if (target === 'stripe') await drainInbound(nats, names, discardInbound);
    const result = await rebindTarget(sql, target, {
      accountId: account.id,
      livemode: account.livemode,
    });
    const actors = await forgetAccountInActors(nats, names, target);
    const from = result.previous ? result.previous.accountId : 'no account';
    const next =
      target === 'stripe'
        ? [
            "  Set STRIPE_WEBHOOK_SECRET to the signing secret of the new account's webhook endpoint.",
            '  Once rtws runs again, `npm run rtws -- backfill --from stripe` links the customers the',
            '  new account has, and `npm run rtws -- backfill --from postgres` creates the rest there.',
          ]
        : [
            '  Once rtws runs again, `npm run rtws -- backfill --from postgres` upserts every customer',
            '  into the new organization (by its external id, so records it already has are updated).',
          ];
    console.log(
      [
        `rebound ${target} from ${from} to ${account.id} (${account.livemode ? 'live' : 'test mode'}):`,
        `  ${result.archivedLinks} links archived (customer_links_archive), ${actors} actors reset`,
        ...next,
      ].join('\n'),
    );
    return 0;
  } finally {
    await nats.close();
    await sql.end({ timeout: 5 });
  }
}

/**
 * Starts a backfill (or follows the one of this source already active) and shows its progress:
 * a bar with an ETA on a terminal, JSON lines otherwise. A running rtws worker runs it, paced
 * behind live changes; with none running, this process runs it. A dry run decides here and
 * writes nothing.
 */
async function backfill(
  config: Config,
  source: BackfillSource,
  o: { dryRun: boolean; adoptOrphans: boolean; invoices: boolean },
): Promise<number> {
  const targets: TargetName[] = [];
  if (config.stripe.secretKey) targets.push('stripe');
  if (config.salesforce.loginUrl) targets.push('salesforce');
  const secretKey = config.stripe.secretKey;
  if (source === 'stripe' && !secretKey)
    throw new ConfigError('STRIPE_SECRET_KEY', "an import needs the account's key");
  if (source === 'postgres' && targets.length === 0)
    throw new ConfigError('STRIPE_SECRET_KEY', 'an export needs a configured target');
  await ensureDatabase(config.databaseUrl);
  const sql = connectPostgres(config.databaseUrl, { applicationName: 'rtws-cli' });
  const nats = await connectNats({ servers: config.natsServers, name: 'rtws-cli' });
  try {
    await migrate(sql);
    const names = subjectNames(config.namespace, config.partitions);
    const publisher = jetStreamPublisher(jetstream(nats));
    const stripe = secretKey
      ? stripeClient({ secretKey, apiBase: config.stripe.apiBase })
      : undefined;
    let accountId: string | undefined;
    if (stripe && secretKey && source === 'stripe') {
      const account = await stripeAccount(stripe, secretKey);
      accountId = account.id;
      const bound = await bindingOf(sql, 'stripe');
      if (bound && (bound.accountId !== account.id || bound.livemode !== account.livemode))
        throw new Refused(
          `this database is bound to ${bound.accountId}; the key belongs to ${account.id}: nothing was imported`,
        );
    }
    const sources: BackfillSources = {
      postgres: resyncer({ sql, publisher, names, targets }),
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
  } finally {
    await nats.close();
    await sql.end({ timeout: 5 });
  }
}

/** A bar redrawn in place on a terminal; JSON lines when the output is a file or a pipe. */
function progressPrinter() {
  const tty = process.stdout.isTTY === true;
  let drawn = false;
  return {
    note(text: string) {
      if (drawn) process.stdout.write('\n');
      drawn = false;
      console.error(text);
    },
    line(value: object) {
      if (!tty) console.log(JSON.stringify(value));
    },
    progress(b: Backfill) {
      const { ratePerS, etaS } = progressOf(b);
      if (!tty) {
        console.log(
          JSON.stringify({
            backfill: b.id,
            state: b.state,
            scanned: b.scanned,
            total_estimate: b.totalEstimate,
            rate_per_s: ratePerS,
            eta_s: etaS,
            counts: b.counts,
          }),
        );
        return;
      }
      const total = Math.max(b.totalEstimate ?? 0, b.scanned);
      const share = total > 0 ? b.scanned / total : 0;
      const width = 30;
      const filled = Math.round(share * width);
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
      const eta = etaS === null ? 'eta ?' : `eta ${etaS}s`;
      const rate = ratePerS === null ? '' : ` · ${ratePerS}/s`;
      const of = b.totalEstimate === null ? '' : `/${total}`;
      process.stdout.write(
        `\r${bar} ${Math.round(share * 100)}% ${b.scanned}${of}${rate} · ${eta} · ${b.state}   `,
      );
      drawn = true;
    },
    end() {
      if (drawn) process.stdout.write('\n');
      drawn = false;
    },
  };
}

/**
 * Events of the old account still waiting in INBOUND would be mapped against the new binding,
 * where their customers are not linked: each would become a new Stripe-born customer. A rebind
 * waits until they are applied (run rtws with the old key until INBOUND is drained), or discards
 * them on request.
 */
async function drainInbound(nats: NatsConnection, names: Names, discard: boolean): Promise<void> {
  const jsm = await jetstreamManager(nats);
  const stream = names.streams.inbound;
  const stored = (await jsm.streams.info(stream).catch(() => undefined))?.state.messages ?? 0;
  let waiting = 0;
  for (const durable of INBOUND_DURABLES) {
    const backlog = await backlogOf(jsm, stream, inboundDurableName(names, durable));
    // No consumer yet (no worker ever ran): everything stored is still to be applied.
    waiting = Math.max(waiting, backlog ?? stored);
  }
  if (waiting === 0) return;
  if (!discard)
    throw new Refused(
      `${waiting} Stripe events of the old account are not applied yet (INBOUND): start rtws with ` +
        'the old key until they are, or add --discard-inbound to drop them',
    );
  await jsm.streams.purge(stream);
  console.log(`  ${waiting} Stripe events of the old account discarded from INBOUND`);
}

/** Workers holding partition leases now; none when no worker ever ran. */
async function leaseHolders(nats: NatsConnection, names: Names): Promise<string[]> {
  let kv;
  try {
    kv = await new Kvm(jetstream(nats)).open(names.bucket('LEASES'));
  } catch {
    return [];
  }
  const holders = new Set<string>();
  for await (const key of await kv.keys('p.*')) {
    const entry = await kv.get(key);
    if (entry?.operation === 'PUT') holders.add(entry.json<{ holder: string }>().holder);
  }
  return [...holders];
}

/** Forgets the old account in every customer actor's snapshot, with revision CAS. */
async function forgetAccountInActors(
  nats: NatsConnection,
  names: Names,
  target: TargetName,
): Promise<number> {
  const store = await openSnapshotStore(jetstream(nats), names.bucket('ACTORS'));
  let n = 0;
  for await (const id of store.keys()) {
    // A worker that started meanwhile may write too: read again and retry a lost race.
    for (let attempt = 1; ; attempt++) {
      const stored = await store.load(id);
      if (!stored) break;
      const value = stored.value as { machineVersion: number; snapshot: PersistedCustomer };
      const snapshot = forgetTargetAccount(value.snapshot, target);
      if (snapshot === value.snapshot) break;
      try {
        await store.save(id, { ...value, snapshot }, stored.revision);
        n++;
        break;
      } catch (err) {
        if (!(err instanceof ConcurrencyError) || attempt >= 5) throw err;
      }
    }
  }
  return n;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) {
      console.error(`rtws: configuration error: ${err.message}`);
      process.exit(2);
    }
    if (err instanceof Refused) {
      console.error(`rtws: refused: ${err.message}`);
      process.exit(1);
    }
    console.error(`rtws: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
