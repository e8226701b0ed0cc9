// Reads a stored Stripe customer event (`customer.created`, `.updated`, `.deleted`) into what the
// customer actor observes. Only the fields rtws relies on are checked, with the types Stripe sends.
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type Stripe from 'stripe';
import { Nullable } from '../../core/nullable.ts';
import {
  STRIPE_CUSTOMER_EVENT_TYPES,
  type StripeCustomerObserved,
} from '../../actors/customer/index.ts';
import { fieldsOf } from './mapper.ts';

const Text = Type.Optional(Nullable(Type.String()));
/** The parts of a Stripe customer rtws reads, with the types Stripe sends. */
const CustomerObject = Type.Object({
  id: Type.String({ minLength: 1 }),
  object: Type.Literal('customer'),
  name: Text,
  email: Text,
  phone: Text,
  address: Type.Optional(
    Nullable(
      Type.Object({
        line1: Text,
        line2: Text,
        city: Text,
        state: Text,
        postal_code: Text,
        country: Text,
      }),
    ),
  ),
  metadata: Type.Optional(Nullable(Type.Record(Type.String(), Type.String()))),
});
/** Compiled once: every webhook's customer is checked. */
const CUSTOMER_OBJECT = TypeCompiler.Compile(CustomerObject);

const HANDLED = new Set<string>(STRIPE_CUSTOMER_EVENT_TYPES);
const decoder = new TextDecoder('utf-8', { fatal: true });

export type ParsedCustomerEvent =
  { ok: true; observed: Omit<StripeCustomerObserved, 'at'> } | { ok: false; reason: string };

export function parseCustomerEvent(data: Uint8Array): ParsedCustomerEvent {
  let event: Stripe.Event;
  try {
    event = JSON.parse(decoder.decode(data)) as Stripe.Event;
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  if (typeof event !== 'object' || event === null || typeof event.id !== 'string')
    return { ok: false, reason: 'not a Stripe event: no id' };
  if (!HANDLED.has(event.type)) return { ok: false, reason: `not a customer event: ${event.type}` };
  const object = (event.data as { object?: Stripe.Customer } | undefined)?.object;
  if (!object || object.object !== 'customer' || typeof object.id !== 'string')
    return { ok: false, reason: `${event.id}: data.object is not a customer` };
  if (!CUSTOMER_OBJECT.Check(object)) {
    const first = CUSTOMER_OBJECT.Errors(object).First();
    return {
      ok: false,
      reason: `${event.id}: data.object${first?.path ?? ''} ${first?.message ?? 'is malformed'}`,
    };
  }
  if (!Number.isInteger(event.created))
    return { ok: false, reason: `${event.id}: created is not whole seconds` };
  const rtwsId = object.metadata?.rtws_id;
  return {
    ok: true,
    observed: {
      type: 'StripeCustomerObserved',
      data: {
        eventId: event.id,
        eventType: event.type as StripeCustomerObserved['data']['eventType'],
        stripeId: object.id,
        created: event.created,
        key: event.request?.idempotency_key ?? null,
        fields: fieldsOf(object),
        ...changedFields(event),
        rtwsId: typeof rtwsId === 'string' && rtwsId !== '' ? rtwsId : null,
      },
    },
  };
}

const SYNCED = ['name', 'email', 'phone', 'address'] as const;

/**
 * The synced fields an event changed, named as the merge names them: every one for a creation,
 * the keys of `previous_attributes` for an update (metadata by key). Absent for a deletion.
 */
function changedFields(event: Stripe.Event): { changed?: string[] } {
  if (event.type === 'customer.created') {
    const object = event.data.object;
    const keys = Object.keys(fieldsOf(object).metadata).map((k) => `metadata.${k}`);
    return { changed: [...SYNCED, ...keys] };
  }
  if (event.type !== 'customer.updated') return {};
  const previous = (event.data as { previous_attributes?: unknown }).previous_attributes;
  if (typeof previous !== 'object' || previous === null) return {};
  const changed: string[] = SYNCED.filter((f) => f in previous);
  const metadata = (previous as { metadata?: unknown }).metadata;
  if (typeof metadata === 'object' && metadata !== null)
    for (const key of Object.keys(metadata)) changed.push(`metadata.${key}`);
  return { changed };
}
