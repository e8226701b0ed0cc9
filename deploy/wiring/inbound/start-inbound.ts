// Changes made in Stripe flowing back, on a worker that writes to Stripe: the consumers of its
// customer and invoice events in INBOUND, and the catch-up that fills in what webhooks missed.
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type Stripe from 'stripe';
import type { Config } from '../../../core/config.ts';
import type { Logger } from '../../../core/ports.ts';
import type { Names } from '../../../core/subjects.ts';
import { jetStreamDeadLetters } from '../../../adapters/jetstream/dead-letters.ts';
import { jetStreamPublisher } from '../../../adapters/jetstream/durable-publisher.ts';
import type { InboundConsumer } from '../../../adapters/jetstream/inbound-consumer.ts';
import { inboundPublisher } from '../../../adapters/jetstream/inbound.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import type { Bindings } from '../binding/check-bindings.ts';
import type { MappingRoute } from '../../../adapters/postgres/stripe-customer-id.ts';
import { startInvoiceInbound } from '../invoices/invoice-inbound.ts';
import { stripeCatchUp, type StripeCatchUp } from './stripe-catch-up.ts';
import { startCustomerInbound } from './stripe-customer-inbound.ts';

export interface InboundDeps {
  readonly sql: Sql;
  readonly nats: NatsConnection;
  readonly names: Names;
  readonly log: Logger;
  readonly bindings: Bindings;
  /** Told which rule mapped each customer event. */
  readonly onMapped: (route: MappingRoute) => void;
}

/** Customer events first, then invoice events; stopped in the same order. */
export async function startInbound(config: Config, d: InboundDeps): Promise<InboundConsumer> {
  const { nats, names, sql, log } = d;
  const common = {
    nats,
    names,
    sql,
    log,
    deadLetters: jetStreamDeadLetters(jetstream(nats), names),
  };
  const customers = await startCustomerInbound({
    ...common,
    publisher: jetStreamPublisher(jetstream(nats)),
    onMapped: d.onMapped,
    binding: d.bindings.stripeAccount,
    match: config.match,
    inboxRetentionSeconds: config.retention.maxAgeSeconds,
  });
  const invoices = await startInvoiceInbound(common);
  return {
    async stop() {
      await customers.stop();
      await invoices.stop();
    },
  };
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
    publish: inboundPublisher(jetstream(d.nats)),
    intervalS: config.stripe.catchUpIntervalS,
    marginS: config.stripe.catchUpMarginS,
    silenceAlertS: config.stripe.webhookSilenceAlertS,
    // Events older than Stripe keeps are lost to catch-up: a full reconciliation finds their drift.
    ...(onBeyondRetention ? { onBeyondRetention } : {}),
  });
}
