// The invoice actor's messages on `invoice.<partition>.<invoiceId>`: the captured request, and the
// executors' outcomes recorded on the same subject (so the actor sees both in one recorded order,
// and a rebuild is the same fold as the live run). `at` is never carried: it is when the stream
// stored the message.
import { Type, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { InvoiceRequested } from '../../core/invoice.ts';
import { ACTOR_KEY } from '../../core/subjects.ts';
import { parseMessage } from '../runtime/message.ts';
import { withCorrelation } from '../customer/schemas.ts';
import {
  fromRecordedMessage,
  toRecordedMessage,
  type RecordedMessage,
} from '../runtime/recorded-message.ts';
import {
  InvoiceRecordedEventSchema,
  type InvoiceEvent,
  type InvoiceRecordedEvent,
} from './events.ts';

export type ParsedInvoiceMessage =
  { ok: true; event: InvoiceEvent } | { ok: false; reason: string };

export type InvoiceEventMessage = RecordedMessage<
  InvoiceRecordedEvent['type'],
  { invoice_id: string; customer_id: string }
>;

const Envelope = Type.Object({
  type: Type.String(),
  data: Type.Record(Type.String(), Type.Unknown()),
  metadata: Type.Object({ invoice_id: Type.String() }),
});

// Every step checks its message: compiled once, as the customer actor's are.
const ENVELOPE = TypeCompiler.Compile(Envelope);
const INVOICE_REQUESTED = TypeCompiler.Compile(InvoiceRequested);
const RECORDED_EVENT = TypeCompiler.Compile(InvoiceRecordedEventSchema);

export function encodeInvoiceEvent(
  invoiceId: string,
  customerId: string,
  event: InvoiceRecordedEvent,
): InvoiceEventMessage {
  return toRecordedMessage(event, { invoice_id: invoiceId, customer_id: customerId });
}

/**
 * The JetStream dedupe id: one per intent attempt and outcome, so a re-sent outcome is stored once
 * and each retry's outcome is stored anew.
 */
export function invoiceEventMsgId(invoiceId: string, event: InvoiceRecordedEvent): string {
  if (event.type === 'InvoiceRetryRequested' || event.type === 'InvoiceVoidRequested')
    return `event:${invoiceId}:${event.type}:${event.at}`;
  const attempt = 'attempt' in event.data ? event.data.attempt : 0;
  return `event:${invoiceId}:${event.type}:${event.data.intentId}:a${attempt}`;
}

/** A message of the invoice's subject, checked exactly as the live consumer and a rebuild accept it. */
export function parseInvoiceMessage(
  data: Uint8Array,
  invoiceId: string,
  at: number,
  correlation?: string,
): ParsedInvoiceMessage {
  return parseMessage({ check: checkInvoiceMessage }, data, invoiceId, at, correlation);
}

/** `correlation`: the message's correlation header (see the customer's `checkMessage`). */
export function checkInvoiceMessage(
  message: unknown,
  invoiceId: string,
  at: number,
  correlation?: string,
): ParsedInvoiceMessage {
  if (!ACTOR_KEY.test(invoiceId))
    return {
      ok: false,
      reason: `invoice id ${JSON.stringify(invoiceId)} is not a valid actor key`,
    };
  if ((message as { type?: unknown } | null)?.type === 'InvoiceRequested') {
    if (!INVOICE_REQUESTED.Check(message))
      return invalid('an InvoiceRequested', INVOICE_REQUESTED, message);
    if (message.data.id !== invoiceId)
      return {
        ok: false,
        reason: `id ${message.data.id} does not match the subject's ${invoiceId}`,
      };
    return { ok: true, event: { ...message, at, ...withCorrelation(correlation) } };
  }
  if (!ENVELOPE.Check(message))
    return { ok: false, reason: 'not a { type, data, metadata } message' };
  if (message.metadata.invoice_id !== invoiceId) {
    return {
      ok: false,
      reason: `invoice_id ${message.metadata.invoice_id} does not match the subject's ${invoiceId}`,
    };
  }
  const event = { ...fromRecordedMessage(message, at), ...withCorrelation(correlation) };
  if (!RECORDED_EVENT.Check(event))
    return invalid('a recorded invoice event', RECORDED_EVENT, event);
  return { ok: true, event };
}

function invalid(
  what: string,
  check: TypeCheck<TSchema>,
  value: unknown,
): { ok: false; reason: string } {
  const first = check.Errors(value).First();
  return {
    ok: false,
    reason: `not ${what}: ${first ? `${first.path || '/'} ${first.message}` : 'invalid'}`,
  };
}
