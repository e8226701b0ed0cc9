// Changes made in Stripe flowing back, on a worker that writes to Stripe: the consumers of its
// customer and invoice events in INBOUND (each held partition's, and the shared ones of the events
// stored before partitioning), and the catch-up that fills in what webhooks missed.
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type Stripe from 'stripe';
import type { Config } from '../../../core/config.ts';
import type { Logger } from '../../../core/ports.ts';
import { ledgeredDeadLetters, type SnapshotStore } from '../../../core/worker-ports.ts';
import type { CustomerSnapshot } from '../../../actors/customer/index.ts';
import type { Names } from '../../../core/subjects.ts';
import { jetStreamDeadLetters } from '../../../adapters/jetstream/dead-letters.ts';
import { postgresLetterLedger } from '../../../adapters/postgres/letter-ledger.ts';
import { jetStreamPublisher } from '../../../adapters/jetstream/durable-publisher.ts';
import type { InboundConsumer } from '../../../adapters/jetstream/inbound-consumer.ts';
import type { PartitionWork } from '../worker/partition-work.ts';
import type { InboundPublish } from '../../../adapters/jetstream/inbound.ts';
import { bindingOf } from '../../../adapters/postgres/bindings.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import type { Bindings } from '../binding/check-bindings.ts';
import type { MappingRoute } from '../../../adapters/postgres/stripe-customer-id.ts';
import { invoiceInbound } from '../invoices/invoice-inbound.ts';
import { inboundPartitions } from './inbound-partitions.ts';
import { stripeCatchUp, type StripeCatchUp } from './stripe-catch-up.ts';
import { customerInbound, startInboxPruning } from './stripe-customer-inbound.ts';
import { Kvm } from '@nats-io/kv';
import { kvSnapshotStore } from '../../../adapters/jetstream/kv-snapshot-store.ts';

export interface InboundDeps {
  readonly sql: Sql;
  readonly nats: NatsConnection;
  readonly names: Names;
  readonly log: Logger;
  readonly bindings: Bindings;
  /** Publishes to INBOUND: the one this process's webhook receiver uses too. */
  readonly inboundPublish: InboundPublish;
  /** Reads what Stripe's events leave out (an invoice's lines past the first page). */
  readonly stripe?: Stripe;
  /** Told which rule mapped each customer event. */
  readonly onMapped: (route: MappingRoute) => void;
  /** Told of each echo of our own write dropped at mapping. */
  readonly onEcho?: () => void;
  /** The customer's actor as this process's worker holds it in memory, if it does. */
  readonly liveActor?: (customerId: string) => CustomerSnapshot | undefined;
}

export interface Inbound {
  /** Each held partition's consumers, customer events first: the worker starts and stops them. */
  readonly partitions: PartitionWork;
  /** Starts the shared consumers of the unpartitioned subjects, and the inbox pruning. */
  start(): Promise<void>;
  /** Stops what `start` started (the worker stops the partitions' consumers). */
  stop(): Promise<void>;
}

/**
 * The shared durables run on every worker for good, idle but for a pull now and then: events
 * stored on the unpartitioned subjects by an older rtws (a rolling upgrade), and the DLQ letters of
 * such events, which a redrive publishes to their subject again, at any time.
 */
export function inboundConsumers(config: Config, d: InboundDeps): Inbound {
  const { nats, names, sql, log } = d;
  const common = {
    nats,
    names,
    sql,
    log,
    deadLetters: ledgeredDeadLetters(
      jetStreamDeadLetters(jetstream(nats), names),
      postgresLetterLedger(sql, config.retention.maxAgeSeconds),
      log,
    ),
  };
  const customerOptions = {
    ...common,
    publisher: jetStreamPublisher(jetstream(nats)),
    onMapped: d.onMapped,
    ...(d.onEcho ? { onEcho: d.onEcho } : {}),
    actors: actorSnapshots(nats, names),
    ...(d.liveActor ? { liveActor: d.liveActor } : {}),
    binding: d.bindings.stripeStamp,
    ...accountStamps(sql, d.bindings),
    match: config.match,
    inboxRetentionSeconds: config.retention.maxAgeSeconds,
  };
  const kinds = [
    customerInbound(customerOptions),
    invoiceInbound({
      ...common,
      ...(d.stripe ? { stripe: d.stripe } : {}),
      ...accountStamps(sql, d.bindings),
    }),
  ];
  let shared: InboundConsumer[] = [];
  let pruning: { stop(): void } | undefined;
  return {
    partitions: inboundPartitions(names, kinds, log),
    async start() {
      pruning = startInboxPruning(customerOptions);
      for (const kind of kinds) shared.push(await kind.consumer());
    },
    async stop() {
      pruning?.stop();
      for (const c of shared) await c.stop();
      shared = [];
    },
  };
}

/** The worker's snapshot bucket, opened on first use (the worker has created it); again after a failure. */
function actorSnapshots(nats: NatsConnection, names: Names): () => Promise<SnapshotStore> {
  let opened: Promise<SnapshotStore> | undefined;
  return () =>
    (opened ??= new Kvm(jetstream(nats)).open(names.bucket('ACTORS')).then(
      (kv) => kvSnapshotStore(kv),
      (err: unknown) => {
        opened = undefined;
        throw err;
      },
    ));
}

/** The catch-up from Stripe's events API, with the configured timer; not started yet. */
export function catchUpFrom(
  config: Config,
  stripe: Stripe,
  d: Omit<InboundDeps, 'onMapped'>,
  onBeyondRetention?: () => Promise<void>,
): StripeCatchUp {
  return stripeCatchUp({
    stripe,
    ready: () => d.bindings.ready('stripe'),
    sql: d.sql,
    nats: d.nats,
    names: d.names,
    log: d.log,
    publish: d.inboundPublish,
    intervalS: config.stripe.catchUpIntervalS,
    marginS: config.stripe.catchUpMarginS,
    silenceAlertS: config.stripe.webhookSilenceAlertS,
    // Events older than Stripe keeps are lost to catch-up: a full reconciliation finds their drift.
    ...(onBeyondRetention ? { onBeyondRetention } : {}),
  });
}

/** The Stripe binding as INBOUND's events are stamped: as this process knows it, and as it is. */
function accountStamps(sql: Sql, bindings: Bindings) {
  return {
    accountStamp: bindings.stripeStamp,
    accountStampNow: async () => {
      const b = await bindingOf(sql, 'stripe');
      return b && { account: b.accountId, livemode: b.livemode };
    },
  };
}
