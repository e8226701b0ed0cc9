// Rebuilds an actor's state from what the stream recorded for it: a pure fold that calls nothing
// outside and reads no clock. Each recorded message is accepted exactly as the live consumer
// accepted it, so the rebuild equals the snapshot the live run saved.
import {
  customerMachine,
  replay,
  type CustomerEvent,
  type CustomerMachine,
  type CustomerSnapshot,
} from '../customer/index.ts';
import { checkFact } from './fact-message.ts';
import { checkRecordedEvent } from './outcome-message.ts';

/** A message as the stream recorded it, with the instant it was stored (ms). */
export interface RecordedEvent {
  readonly message: unknown;
  readonly at: number;
}

const FACT_TYPES = new Set(['CustomerCreated', 'CustomerUpdated', 'CustomerDeleted']);

/** The event a recorded message stands for, or undefined for one the live run dead-lettered. */
export function recordedToEvent(
  customerId: string,
  recorded: RecordedEvent,
  binding?: string,
): CustomerEvent | undefined {
  const type = (recorded.message as { type?: unknown } | null)?.type;
  if (typeof type === 'string' && FACT_TYPES.has(type)) {
    const parsed = checkFact(recorded.message, customerId, recorded.at);
    return parsed.ok ? parsed.event : undefined;
  }
  const parsed = checkRecordedEvent(recorded.message, customerId, recorded.at, binding);
  return parsed.ok ? parsed.event : undefined;
}

export function rebuild(
  customerId: string,
  recorded: Iterable<RecordedEvent>,
  machine: CustomerMachine = customerMachine,
): CustomerSnapshot {
  const events: CustomerEvent[] = [];
  for (const r of recorded) {
    const event = recordedToEvent(customerId, r);
    if (event) events.push(event);
  }
  return replay(customerId, events, machine);
}
