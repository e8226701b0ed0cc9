// Executor outcomes travel as messages on the customer's own subject, `{ type, data, metadata }`,
// so the actor sees facts and outcomes in one recorded order: a rebuild from the stream is the same
// fold as the live run. `at` is not carried: like a fact's, it is when the stream stored it.
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import {
  fromRecordedMessage,
  toRecordedMessage,
  type RecordedMessage,
} from '../runtime/recorded-message.ts';
import { CustomerEventSchema, type CustomerEvent } from './index.ts';
import { withCorrelation } from './schemas.ts';

/** Everything the actor consumes that is not a captured change: outcomes and operator requests. */
export type RecordedEvent = Exclude<
  CustomerEvent,
  { type: 'CustomerCreated' | 'CustomerUpdated' | 'CustomerDeleted' }
>;

/**
 * `binding`: the Stripe account the database was bound to when a Stripe event or outcome was
 * recorded. After a rebind, one recorded under the old account is skipped, never applied.
 */
export type RecordedEventMessage = RecordedMessage<
  RecordedEvent['type'],
  { customer_id: string; binding?: string }
>;

export function encodeRecordedEvent(
  customerId: string,
  event: RecordedEvent,
  binding?: string,
): RecordedEventMessage {
  return toRecordedMessage(event, {
    customer_id: customerId,
    ...(binding !== undefined ? { binding } : {}),
  });
}

/** Events that say something of the Stripe account: observations, matches, call outcomes. */
export function isStripeEvent(event: RecordedEvent): boolean {
  return event.type.startsWith('Stripe');
}

/** The JetStream dedupe id: one per intent attempt and outcome, so a re-sent outcome is stored once. */
export function recordedEventMsgId(customerId: string, event: RecordedEvent): string {
  const d = event.data as { intentId?: string; attempt?: number; target?: string };
  const what = d.intentId ? `${d.intentId}:a${d.attempt ?? 0}` : `${d.target ?? ''}:${event.at}`;
  return `event:${customerId}:${event.type}:${what}`;
}

const Envelope = Type.Object({
  type: Type.String(),
  data: Type.Record(Type.String(), Type.Unknown()),
  metadata: Type.Object({ customer_id: Type.String(), binding: Type.Optional(Type.String()) }),
});

// Every step checks its message: compiled once, a check costs a fraction of `Value.Check`'s walk.
const ENVELOPE = TypeCompiler.Compile(Envelope);
const CUSTOMER_EVENT = TypeCompiler.Compile(CustomerEventSchema);

const FACT_TYPES = new Set(['CustomerCreated', 'CustomerUpdated', 'CustomerDeleted']);

export type ParsedRecordedEvent =
  { ok: true; event: RecordedEvent } | { ok: false; reason: string; skip?: true };

/**
 * `binding`: the Stripe account this database is bound to now, when known. A message stamped with
 * another one was recorded before a rebind: it is skipped.
 */
export function checkRecordedEvent(
  message: unknown,
  customerId: string,
  at: number,
  binding?: string,
  correlation?: string,
): ParsedRecordedEvent {
  if (!ENVELOPE.Check(message))
    return { ok: false, reason: 'not a { type, data, metadata } message' };
  const stamped = message.metadata.binding;
  if (binding !== undefined && stamped !== undefined && stamped !== binding)
    return {
      ok: false,
      skip: true,
      reason: `recorded under Stripe account ${stamped}; this database is bound to ${binding}`,
    };
  if (FACT_TYPES.has(message.type))
    return { ok: false, reason: `${message.type} is a captured change, not a recorded event` };
  if (message.metadata.customer_id !== customerId) {
    return {
      ok: false,
      reason: `customer_id ${message.metadata.customer_id} does not match the subject's ${customerId}`,
    };
  }
  const event = { ...fromRecordedMessage(message, at), ...withCorrelation(correlation) };
  if (!CUSTOMER_EVENT.Check(event)) {
    const first = CUSTOMER_EVENT.Errors(event).First();
    return {
      ok: false,
      reason: `not a recorded event: ${first ? `${first.path || '/'} ${first.message}` : 'invalid'}`,
    };
  }
  return { ok: true, event: event as RecordedEvent };
}
