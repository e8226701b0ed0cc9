// Turns a CHANGES message into the event the customer actor consumes, or says why it cannot. The
// live consumer and the rebuild share this, so both accept exactly the same messages.
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { CustomerChanged } from '../../core/messages.ts';
import { ACTOR_KEY } from '../../core/subjects.ts';
import type { CustomerFactEvent } from './events.ts';
import type { CustomerEvent } from './index.ts';
import type { Parsed } from '../runtime/actor-kind.ts';
import { parseMessage } from '../runtime/message.ts';
import { checkRecordedEvent, type BindingStamp } from './outcome-message.ts';
import { withCorrelation } from './schemas.ts';

/** Compiled once: every step of a captured change checks it. */
const CUSTOMER_CHANGED = TypeCompiler.Compile(CustomerChanged);

export type ParsedFact = { ok: true; event: CustomerFactEvent } | { ok: false; reason: string };

const FACT_TYPES = new Set(['CustomerCreated', 'CustomerUpdated', 'CustomerDeleted']);

/**
 * A captured change or a recorded event (outcome, retry request), by its `type`; `binding` is the
 * Stripe account and mode this database is bound to, when known (see `checkRecordedEvent`).
 */
export function checkMessage(
  message: unknown,
  customerId: string,
  at: number,
  binding?: BindingStamp,
  correlation?: string,
): Parsed<CustomerEvent> {
  const type = (message as { type?: unknown } | null)?.type;
  if (typeof type === 'string' && !FACT_TYPES.has(type)) {
    if (!ACTOR_KEY.test(customerId))
      return {
        ok: false,
        reason: `customer id ${JSON.stringify(customerId)} is not a valid actor key`,
      };
    return checkRecordedEvent(message, customerId, at, binding, correlation);
  }
  return checkFact(message, customerId, at, correlation);
}

/** `at` is when the stream stored the message, so a rebuild sees the same instant as the live run. */
export function parseFact(data: Uint8Array, customerId: string, at: number): ParsedFact {
  return parseMessage({ check: checkFact }, data, customerId, at);
}

export function checkFact(
  message: unknown,
  customerId: string,
  at: number,
  correlation?: string,
): ParsedFact {
  if (!CUSTOMER_CHANGED.Check(message)) {
    const first = CUSTOMER_CHANGED.Errors(message).First();
    return {
      ok: false,
      reason: `not a CustomerChanged: ${first ? `${first.path || '/'} ${first.message}` : 'invalid'}`,
    };
  }
  if (!ACTOR_KEY.test(customerId))
    return {
      ok: false,
      reason: `customer id ${JSON.stringify(customerId)} is not a valid actor key`,
    };
  if (message.metadata.customer_id !== customerId) {
    return {
      ok: false,
      reason: `customer_id ${message.metadata.customer_id} does not match the subject's ${customerId}`,
    };
  }
  return { ok: true, event: { ...message, at, ...withCorrelation(correlation) } };
}
