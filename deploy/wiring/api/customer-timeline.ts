// A customer's timeline from the streams: its CHANGES subject (captured changes, the actor's
// observations and decisions, the outcomes of its external calls, operator requests) and the
// Stripe events INBOUND holds about its Stripe customer. Intents are not recorded in the stream
// (they live in the actor's KV snapshot until their outcome is), so the pending ones come from
// the snapshot, as GET /customers/:id/sync shows them.
import { lazyManager } from '../../../adapters/jetstream/connect.ts';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Names } from '../../../core/subjects.ts';
import { customerHistory } from '../../../adapters/jetstream/customer-history.ts';
import { stripeEventHistory } from '../../../adapters/jetstream/stripe-event-history.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import type { Timeline } from '../../../adapters/http/routes/timeline.ts';
import { withPauses, type TargetView } from '../../../adapters/http/routes/sync.ts';
import { listPauses } from '../../../adapters/postgres/target-pauses.ts';
import { changeEntry, stripeEventEntry } from './timeline-entry.ts';

/**
 * INBOUND messages looked at for a customer's Stripe events: its partition holds every customer
 * of it, so the read covers the stream's most recent messages only.
 */
export const INBOUND_WINDOW = 10_000;

export interface TimelineDeps {
  readonly sql: Sql;
  readonly nats: NatsConnection;
  readonly names: Names;
  readonly targets: (customerId: string) => Promise<Record<string, TargetView> | undefined>;
}

export function customerTimeline(d: TimelineDeps) {
  const { sql, nats, names } = d;
  const jsm = lazyManager(nats);

  async function stripeEvents(stripeId: string | undefined) {
    if (!stripeId) return { entries: [], windowed: false };
    const info = await (await jsm()).streams.info(names.streams.inbound);
    if (info.state.messages === 0) return { entries: [], windowed: false };
    const from = Math.max(1, info.state.first_seq, info.state.last_seq - INBOUND_WINDOW + 1);
    const { events } = await stripeEventHistory(nats, names, stripeId, from);
    return {
      entries: events.map((e) => stripeEventEntry(names.streams.inbound, e)),
      windowed: from > info.state.first_seq,
    };
  }

  /** Undefined when there is no such customer (deleted ones have a timeline too). */
  return async (customerId: string, limit: number): Promise<Timeline | undefined> => {
    const [row] = await sql<{ stripe: string | null }[]>`
      SELECT (SELECT external_id FROM customer_links
              WHERE customer_id = c.id AND target = 'stripe') AS stripe
      FROM customers c WHERE c.id = ${customerId}`;
    if (!row) return undefined;
    const [history, stripe, view] = await Promise.all([
      customerHistory(nats, names, customerId),
      stripeEvents(row.stripe ?? undefined),
      d.targets(customerId).then(async (v) => withPauses(v, await listPauses(sql))),
    ]);
    const all = [
      ...history.map((r) => changeEntry(names.streams.changes, r)),
      ...stripe.entries,
    ].sort((a, b) => a.at.localeCompare(b.at) || a.seq - b.seq);
    const pending = Object.entries(view ?? {}).flatMap(([target, t]) =>
      t.pending.map((p) => ({ target, ...p, waiting: t.waiting ?? null })),
    );
    return {
      customer_id: customerId,
      entries: all.slice(-limit),
      more: all.length > limit,
      stripe_events_windowed: stripe.windowed,
      pending,
    };
  };
}
