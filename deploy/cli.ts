// `npm run rtws -- <command>`: operator commands, configured by the same environment as rtws.
//   rebind stripe --confirm <acct_id>   bind this database to the account of STRIPE_SECRET_KEY
//   export [--rate <n>]                 offer every catalogue customer to every configured target
//   import --from stripe [--dry-run]    bring the bound account's customers into the catalogue
// Exit codes: 0 done, 1 refused or failed (with the reason), 2 bad usage or configuration.
import { parseArgs } from 'node:util';
import { jetstream } from '@nats-io/jetstream';
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
import {
  forgetTargetAccount,
  type PersistedCustomer,
  type TargetName,
} from '../actors/customer/index.ts';
import { jetStreamPublisher } from '../adapters/jetstream/durable-publisher.ts';
import { resyncer } from '../adapters/worker/resync.ts';
import { importFromStripe } from '../adapters/worker/stripe-import.ts';
import { bindingOf } from '../adapters/postgres/bindings.ts';

const USAGE = [
  'usage: npm run rtws -- rebind stripe --confirm <acct_id>',
  '       npm run rtws -- export [--rate <customers per second, default 10>]',
  '       npm run rtws -- import --from stripe [--dry-run]',
].join('\n');

class Refused extends Error {}

function args() {
  return parseArgs({
    allowPositionals: true,
    options: {
      confirm: { type: 'string' },
      rate: { type: 'string' },
      from: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
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
  const rate = Number(values.rate ?? 10);
  if (command === 'export' && positionals.length === 1 && Number.isInteger(rate) && rate > 0)
    return exportAll(loadConfig(process.env), rate);
  if (command === 'import' && positionals.length === 1 && values.from === 'stripe')
    return importAll(loadConfig(process.env), values['dry-run']);
  if (command === 'rebind' && target === 'stripe' && values.confirm)
    return rebind(loadConfig(process.env), values.confirm);
  console.error(USAGE);
  return 2;
}

/** Binds this database to the account of STRIPE_SECRET_KEY, which must be `confirm`. */
async function rebind(config: Config, confirm: string): Promise<number> {
  const secretKey = config.stripe.secretKey;
  if (!secretKey) throw new ConfigError('STRIPE_SECRET_KEY', "rebind needs the new account's key");
  const account = await stripeAccount(
    stripeClient({ secretKey, apiBase: config.stripe.apiBase }),
    secretKey,
  );
  if (account.id !== confirm)
    throw new Refused(
      `STRIPE_SECRET_KEY belongs to ${account.id}, not ${confirm}: nothing was changed`,
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
    const result = await rebindTarget(sql, 'stripe', {
      accountId: account.id,
      livemode: account.livemode,
    });
    const actors = await forgetAccountInActors(nats, names);
    const from = result.previous ? result.previous.accountId : 'no account';
    console.log(
      [
        `rebound stripe from ${from} to ${account.id} (${account.livemode ? 'live' : 'test mode'}):`,
        `  ${result.archivedLinks} links archived (customer_links_archive), ${actors} actors reset`,
        "  Set STRIPE_WEBHOOK_SECRET to the signing secret of the new account's webhook endpoint.",
        '  Run `npm run rtws -- export` once rtws runs again: each customer is then created in',
        '  the new account (or on its next change, without it).',
      ].join('\n'),
    );
    return 0;
  } finally {
    await nats.close();
    await sql.end({ timeout: 5 });
  }
}

/** Offers every live catalogue customer to its actor for every configured target. */
async function exportAll(config: Config, perSecond: number): Promise<number> {
  const targets: TargetName[] = [];
  if (config.stripe.secretKey) targets.push('stripe');
  if (config.salesforce.loginUrl) targets.push('salesforce');
  if (targets.length === 0)
    throw new ConfigError('STRIPE_SECRET_KEY', 'export needs a configured target');
  const sql = connectPostgres(config.databaseUrl, { applicationName: 'rtws-cli' });
  const nats = await connectNats({ servers: config.natsServers, name: 'rtws-cli' });
  try {
    const names = subjectNames(config.namespace, config.partitions);
    const publisher = jetStreamPublisher(jetstream(nats));
    const done = await resyncer({ sql, publisher, names, targets }).all({
      perSecond,
      onPage: (n) => console.log(JSON.stringify({ exported: n })),
    });
    console.log(`offered ${done} customers to ${targets.join(' and ')}; their actors do the rest`);
    return 0;
  } finally {
    await nats.close();
    await sql.end({ timeout: 5 });
  }
}

/** Brings the bound Stripe account's customers into the catalogue, through their actors. */
async function importAll(config: Config, dryRun: boolean): Promise<number> {
  const secretKey = config.stripe.secretKey;
  if (!secretKey) throw new ConfigError('STRIPE_SECRET_KEY', "import needs the account's key");
  const stripe = stripeClient({ secretKey, apiBase: config.stripe.apiBase });
  const sql = connectPostgres(config.databaseUrl, { applicationName: 'rtws-cli' });
  const nats = await connectNats({ servers: config.natsServers, name: 'rtws-cli' });
  try {
    await migrate(sql);
    const account = await stripeAccount(stripe, secretKey);
    const bound = await bindingOf(sql, 'stripe');
    if (bound && (bound.accountId !== account.id || bound.livemode !== account.livemode))
      throw new Refused(
        `this database is bound to ${bound.accountId}; the key belongs to ${account.id}: nothing was imported`,
      );
    const names = subjectNames(config.namespace, config.partitions);
    const result = await importFromStripe({
      stripe,
      sql,
      publisher: jetStreamPublisher(jetstream(nats)),
      names,
      dryRun,
      match: config.match,
      onPage: (p) => console.log(JSON.stringify({ dry_run: dryRun, ...p })),
      onReported: (id, decision) => console.log(JSON.stringify({ customer: id, decision })),
    });
    const verb = dryRun ? 'would hand over' : 'handed over';
    console.log(
      `scanned ${result.scanned} Stripe customers; ${verb} ${result.counts.insert ?? 0} to be inserted`,
    );
    return 0;
  } finally {
    await nats.close();
    await sql.end({ timeout: 5 });
  }
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
async function forgetAccountInActors(nats: NatsConnection, names: Names): Promise<number> {
  const store = await openSnapshotStore(jetstream(nats), names.bucket('ACTORS'));
  let n = 0;
  for await (const id of store.keys()) {
    // A worker that started meanwhile may write too: read again and retry a lost race.
    for (let attempt = 1; ; attempt++) {
      const stored = await store.load(id);
      if (!stored) break;
      const value = stored.value as { machineVersion: number; snapshot: PersistedCustomer };
      const snapshot = forgetTargetAccount(value.snapshot, 'stripe');
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
