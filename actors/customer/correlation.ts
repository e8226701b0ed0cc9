// Which change an intent (or a Postgres write the actor asks for) serves: its correlation id, kept on
// the intent in the snapshot, sent with the call's log lines and recorded back on its outcome. Pure:
// the id comes from the recorded message's header (the event's `correlation`), never from a clock
// or a random source, so a rebuild stamps exactly what the live run stamped.
import type { CatalogueApply } from './inbound.ts';
import type { CustomerEvent } from './events.ts';
import type { CustomerContext } from './machine.ts';
import type { TargetState } from './context.ts';

/**
 * Events that are a change, or the news of one: what they make the actor do serves them. The
 * others report how an earlier call went; what the actor records next (the push of a newer
 * version that waited for the call, say) serves the latest accepted change.
 */
const CAUSES: ReadonlySet<CustomerEvent['type']> = new Set([
  'CustomerCreated',
  'CustomerUpdated',
  'CustomerDeleted',
  'RetryRequested',
  'StripeCustomerObserved',
  'StripeCustomerMatched',
  'SalesforceRecordChanged',
  'SalesforceRecordAdopted',
  'SalesforceRecordObserved',
  'SalesforceRecordMissing',
  'CatalogueRowObserved',
]);

function causeOf(event: CustomerEvent, context: CustomerContext): string | undefined {
  if (CAUSES.has(event.type)) return event.correlation;
  return context.desired?.correlationId ?? event.correlation;
}

/**
 * The context after `event`, with the intents and writes it recorded (new ids) stamped with the
 * event's cause. A retry of an intent keeps its id, and with it the change it serves.
 */
export function stampCorrelation(
  before: CustomerContext,
  after: CustomerContext,
  event: CustomerEvent,
): CustomerContext {
  const correlationId = causeOf(event, after);
  if (correlationId === undefined) return after;
  let stamped = after;
  for (const [target, t] of Object.entries(after.targets) as [string, TargetState][]) {
    const was = before.targets[target as keyof CustomerContext['targets']]?.pending;
    if (t.pending === null || t.pending.id === was?.id) continue;
    stamped = {
      ...stamped,
      targets: { ...stamped.targets, [target]: { ...t, pending: { ...t.pending, correlationId } } },
    };
  }
  const seen = new Set(before.inbound.applies.map((a) => a.id));
  if (after.inbound.applies.some((a) => !seen.has(a.id))) {
    const applies = after.inbound.applies.map((a): CatalogueApply =>
      seen.has(a.id) ? a : { ...a, correlationId },
    );
    stamped = { ...stamped, inbound: { ...stamped.inbound, applies } };
  }
  return stamped;
}
