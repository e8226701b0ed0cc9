// Which change an intent (or a Postgres write the actor asks for) serves: its correlation id, kept on
// the intent in the snapshot, sent with the call's log lines and recorded back on its outcome. Pure:
// the id comes from the recorded message's header (the event's `correlation`), never from a clock
// or a random source, so a rebuild stamps exactly what the live run stamped.
import type { CatalogueApply } from './inbound.ts';
import type { CustomerEvent } from './events.ts';
import type { CustomerContext } from './machine.ts';
import type { TargetState } from './context.ts';
import { TARGETS, TARGET_NAMES } from './targets.ts';

/**
 * What the intents and writes an event records serve: the event's own correlation (a change, the
 * news of one, a fetch's answer, a write done), except after a push's outcome: what is recorded
 * then (the push of a newer version that waited for the call, say) serves the latest accepted
 * change, not the one the finished call served.
 */
function causeOf(event: CustomerEvent, context: CustomerContext): string | undefined {
  const pushOutcome = TARGET_NAMES.some((t) => TARGETS[t].outcomeOf(event) !== null);
  if (pushOutcome) return context.desired?.correlationId ?? event.correlation;
  return event.correlation;
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
  for (const [target, t] of Object.entries<TargetState>(after.targets)) {
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
