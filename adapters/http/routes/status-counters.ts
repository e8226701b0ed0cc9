// Monotonic totals for GET /status, read from this process's Prometheus registry: the console
// turns two polls into a rate. They count what this process did since it started (another role's
// process counts its own), so a total that goes down means a restart, not a negative rate.
import { Type, type Static } from '@sinclair/typebox';
import type { Registry } from 'prom-client';

export const Counters = Type.Object({
  /** Captured changes the outbox publisher put on the CHANGES stream. */
  changes_published: Type.Integer(),
  /** Messages the customer actors consumed: facts, outcomes and observations. */
  facts_consumed: Type.Integer(),
  /** External calls (Stripe, Salesforce) made for intents, whatever their outcome. */
  external_calls: Type.Integer(),
  /** Of those, the calls that failed. */
  external_calls_failed: Type.Integer(),
  /** Stripe customer events mapped to a customer. */
  inbound_events_mapped: Type.Integer(),
  /** Postgres writes made for changes seen in Stripe or Salesforce. */
  inbound_writes: Type.Integer(),
  /** Fields changed on both sides at once, settled by the merge policy. */
  conflicts_settled: Type.Integer(),
  /** Messages sent to the DLQ. */
  dead_lettered: Type.Integer(),
  /** HTTP requests served. */
  http_requests: Type.Integer(),
});
export type Counters = Static<typeof Counters>;

/** The sum of a metric's values whose labels pass `where`; 0 when it is not registered here. */
async function total(
  registry: Registry | undefined,
  name: string,
  where: (labels: Partial<Record<string, string | number>>) => boolean = () => true,
): Promise<number> {
  const metric = registry?.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.reduce((sum, v) => (where(v.labels) ? sum + v.value : sum), 0);
}

export async function countersOf(registry: Registry | undefined): Promise<Counters> {
  const [published, consumed, calls, failed, mapped, writes, conflicts, dead, requests] =
    await Promise.all([
      total(registry, 'rtws_outbox_published_total'),
      total(registry, 'rtws_facts_consumed_total'),
      total(registry, 'rtws_intents_executed_total'),
      total(registry, 'rtws_intents_executed_total', (l) => String(l.outcome).endsWith('Failed')),
      total(registry, 'rtws_inbound_events_mapped_total'),
      total(registry, 'rtws_inbound_writes_total'),
      total(registry, 'rtws_conflicts_total'),
      total(registry, 'rtws_messages_dead_lettered_total'),
      total(registry, 'rtws_http_requests_total'),
    ]);
  return {
    changes_published: published,
    facts_consumed: consumed,
    external_calls: calls,
    external_calls_failed: failed,
    inbound_events_mapped: mapped,
    inbound_writes: writes,
    conflicts_settled: conflicts,
    dead_lettered: dead,
    http_requests: requests,
  };
}
