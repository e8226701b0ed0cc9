// `rebind <target> --confirm <id>`: binds this database to the account the target's credentials
// belong to, once no worker runs: links to the old account are archived, the actors forget it, and
// (for Stripe) the old account's events still in INBOUND are applied or discarded first.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { isErasedActor } from '../../actors/runtime/erased.ts';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Config } from '../../core/config.ts';
import { ConcurrencyError, ConfigError } from '../../core/errors.ts';
import type { Names } from '../../core/subjects.ts';
import {
  forgetTargetAccount,
  type PersistedCustomer,
  type TargetName,
} from '../../actors/customer/index.ts';
import { backlogOf } from '../../adapters/jetstream/consumer-progress.ts';
import { isStreamNotFound } from '../../adapters/jetstream/streams.ts';
import { INBOUND_DURABLES, inboundDurables } from '../../adapters/jetstream/inbound-durables.ts';
import { openSnapshotStore } from '../../adapters/jetstream/kv-snapshot-store.ts';
import { leaseHolders } from '../../adapters/jetstream/lease-holders.ts';
import type { Sql } from '../../adapters/postgres/connect.ts';
import { actorsReset, rebindTarget } from '../../adapters/postgres/rebind.ts';
import { bindingOf } from '../../adapters/postgres/bindings.ts';
import { salesforceOrganization } from '../../adapters/salesforce/client.ts';
import { stripeAccount } from '../../adapters/stripe/account.ts';
import { stripeClient } from '../../adapters/stripe/client.ts';
import { withConnections } from './connections.ts';
import { Refused } from './refused.ts';

/** Binds this database to the account the target's credentials belong to, which must be `confirm`. */
export async function rebind(
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
  return withConnections(config, async ({ sql, nats, names }) => {
    const holders = await leaseHolders(nats, names);
    if (holders.length > 0)
      throw new Refused(
        `workers still hold partitions (${holders.join(', ')}): stop every rtws worker first`,
      );
    const bound = await bindingOf(sql, target);
    if (bound?.accountId === account.id && bound.livemode === account.livemode) {
      // Rebinding to the account in force would archive its links and reset what it holds.
      if (!bound.actorsResetPending)
        throw new Refused(`this database is bound to ${account.id} already: nothing was changed`);
      // Cut off after its commit: only the actors' reset is left to do.
      const actors = await forgetAccountInActors(nats, names, target);
      await actorsReset(sql, target);
      console.log(`finished the rebind of ${target} to ${account.id}: ${actors} actors reset`);
      return 0;
    }
    if (target === 'stripe') {
      await refuseInvoicesInProgress(sql);
      await drainInbound(nats, names, discardInbound);
    }
    const result = await rebindTarget(sql, target, {
      accountId: account.id,
      livemode: account.livemode,
    });
    const actors = await forgetAccountInActors(nats, names, target);
    await actorsReset(sql, target);
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
        ...(target === 'stripe'
          ? [
              `  ${result.formerInvoices} invoices issued in ${from} marked as its own (former_stripe_account)`,
            ]
          : []),
        ...next,
      ].join('\n'),
    );
    return 0;
  });
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

/**
 * An invoice whose draft exists in the old account cannot be finished in the new one: its Stripe
 * ids mean nothing there. A rebind waits until those are issued with the old key; a failed one
 * with a draft there is one a redrive would take up again, so it waits too (void it in Stripe and
 * it is recorded as void).
 */
async function refuseInvoicesInProgress(sql: Sql): Promise<void> {
  const rows = await sql<{ id: string }[]>`
    SELECT id FROM invoices
    WHERE origin = 'api' AND status IN ('pending', 'draft', 'failed') AND stripe_invoice_id IS NOT NULL
      AND former_stripe_account IS NULL
    ORDER BY created_at LIMIT 10`;
  if (rows.length === 0) return;
  throw new Refused(
    `invoices are being issued in the old account (${rows.map((r) => r.id).join(', ')}): start ` +
      'rtws with the old key until they are issued (or void a failed one there), then rebind',
  );
}

/**
 * Events of the old account still waiting in INBOUND, or dead-lettered from it, would be mapped
 * against the new binding, where their customers are not linked: each would become a new
 * Stripe-born customer. A rebind waits until they are applied (run rtws with the old key until
 * INBOUND is drained, and redrive or discard the letters), or discards them on request.
 */
async function drainInbound(nats: NatsConnection, names: Names, discard: boolean): Promise<void> {
  const jsm = await jetstreamManager(nats);
  const stream = names.streams.inbound;
  const stored = (await jsm.streams.info(stream).catch(() => undefined))?.state.messages ?? 0;
  let waiting = 0;
  const storedOn = async (filter: string) => {
    const { state } = await jsm.streams.info(stream, { subjects_filter: filter });
    return Object.values(state.subjects ?? {}).reduce((sum, n) => sum + n, 0);
  };
  for (const kind of INBOUND_DURABLES) {
    // The shared durable and each partition's: their events add up.
    for (const durable of inboundDurables(names, kind))
      // No consumer yet (no worker ever held it): everything stored on its subjects is waiting.
      waiting +=
        (await backlogOf(jsm, stream, durable.name)) ??
        (stored && (await storedOn(durable.filter)));
  }
  // Their dead letters too: a redrive would publish them to INBOUND again, under the new binding.
  const dlq = names.streams.dlq;
  const letterSubjects = INBOUND_DURABLES.map((kind) => names.dlqSubject(kind.dlqSource));
  let letters = 0;
  for (const subject of letterSubjects) {
    const info = await jsm.streams.info(dlq, { subjects_filter: subject }).catch((err: unknown) => {
      if (isStreamNotFound(err)) return undefined;
      throw err;
    });
    letters += info?.state.subjects?.[subject] ?? 0;
  }
  if (waiting === 0 && letters === 0) return;
  const what = [
    ...(waiting > 0
      ? [`${waiting} Stripe events of the old account are not applied yet (INBOUND)`]
      : []),
    ...(letters > 0
      ? [
          `${letters} Stripe events of the old account are dead letters (a redrive would apply them)`,
        ]
      : []),
  ].join(', and ');
  if (!discard)
    throw new Refused(
      `${what}: start rtws with the old key until they are applied (and redrive or discard the ` +
        'letters), or add --discard-inbound to drop them',
    );
  if (waiting > 0) {
    await jsm.streams.purge(stream);
    console.log(`  ${waiting} Stripe events of the old account discarded from INBOUND`);
  }
  for (const filter of letterSubjects) await jsm.streams.purge(dlq, { filter });
  if (letters > 0)
    console.log(
      `  ${letters} dead letters of the old account's Stripe events discarded from the DLQ`,
    );
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
      if (!stored || isErasedActor(stored.value)) break;
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
