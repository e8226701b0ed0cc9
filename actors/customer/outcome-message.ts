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
 * The Stripe account (and its mode, live or test) a database is bound to. A test key and a live key
 * of one account are two bindings: their customers, ids and events are apart.
 */
export interface BindingStamp {
  readonly account: string;
  /** Unknown for messages recorded before the mode was stamped. */
  readonly livemode?: boolean;
}

/**
 * `binding` and `binding_mode`: the Stripe account the database was bound to when a Stripe event or
 * outcome was recorded, and its mode. After a rebind, one recorded under the old binding is
 * skipped, never applied. Messages of older versions name the account alone.
 */
export type RecordedEventMessage = RecordedMessage<
  RecordedEvent['type'],
  { customer_id: string; binding?: string; binding_mode?: 'live' | 'test' }
>;

export function encodeRecordedEvent(
  customerId: string,
  event: RecordedEvent,
  binding?: BindingStamp,
): RecordedEventMessage {
  return toRecordedMessage(event, {
    customer_id: customerId,
    ...(binding !== undefined ? { binding: binding.account } : {}),
    ...(binding?.livemode !== undefined
      ? { binding_mode: binding.livemode ? ('live' as const) : ('test' as const) }
      : {}),
  });
}

/** Events that say something of the Stripe account: observations, matches, call outcomes. */
export function isStripeEvent(event: { type: string }): boolean {
  return event.type.startsWith('Stripe');
}

/**
 * Events that hold for one Stripe binding only: Stripe's own, and a catalogue row seen with the
 * Stripe id it was linked to (a restore brings the row back linked to it).
 */
export function bindsStripe(event: { type: string; data?: unknown }): boolean {
  if (isStripeEvent(event)) return true;
  const data = event.data as { stripeId?: unknown } | undefined;
  return event.type === 'CatalogueRowObserved' && typeof data?.stripeId === 'string';
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
  metadata: Type.Object({
    customer_id: Type.String(),
    binding: Type.Optional(Type.String()),
    binding_mode: Type.Optional(Type.String()),
  }),
});

// Every step checks its message: compiled once, a check costs a fraction of `Value.Check`'s walk.
const ENVELOPE = TypeCompiler.Compile(Envelope);
const CUSTOMER_EVENT = TypeCompiler.Compile(CustomerEventSchema);

const FACT_TYPES = new Set(['CustomerCreated', 'CustomerUpdated', 'CustomerDeleted']);

export type ParsedRecordedEvent =
  { ok: true; event: RecordedEvent } | { ok: false; reason: string; skip?: true };

/**
 * `binding`: the Stripe account and mode this database is bound to now, when known. A Stripe event
 * or outcome (or a catalogue row seen with its Stripe id) stamped with another account, or with the
 * same account in the other mode, was recorded before a rebind: it is skipped. Other events
 * (Salesforce's, a catalogue row without a Stripe id) hold for every binding, whatever stamp an
 * earlier version gave them.
 */
export function checkRecordedEvent(
  message: unknown,
  customerId: string,
  at: number,
  binding?: BindingStamp,
  correlation?: string,
): ParsedRecordedEvent {
  if (!ENVELOPE.Check(message))
    return { ok: false, reason: 'not a { type, data, metadata } message' };
  const stale = binding && bindsStripe(message) && staleStamp(message.metadata, binding);
  if (stale)
    return {
      ok: false,
      skip: true,
      reason: `recorded under Stripe account ${stale}; this database is bound to ${named(binding)}`,
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

/** The binding a message was recorded under, named, when it is not `binding`; else undefined. */
function staleStamp(
  metadata: { binding?: string; binding_mode?: string },
  binding: BindingStamp,
): string | undefined {
  const { binding: account, binding_mode: mode } = metadata;
  if (account === undefined) return undefined;
  if (account !== binding.account) return mode ? `${account} (${mode} mode)` : account;
  // A mode the message does not name (or names as no version of rtws does), or the binding does not
  // know, cannot be told apart.
  if ((mode !== 'live' && mode !== 'test') || binding.livemode === undefined) return undefined;
  return mode === (binding.livemode ? 'live' : 'test') ? undefined : `${account} (${mode} mode)`;
}

function named(binding: BindingStamp): string {
  return binding.livemode === undefined
    ? binding.account
    : `${binding.account} (${binding.livemode ? 'live' : 'test'} mode)`;
}
