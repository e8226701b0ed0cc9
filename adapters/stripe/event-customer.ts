// The Stripe customer an event is about, which places it in INBOUND: the customer itself for the
// `customer.*` events of a customer object, else the object's `customer` (an invoice, an invoice
// item, a customer's subscription or source). The customer consumer keys its work by the same id,
// so the partition and the lane of an event agree.

/** The event's Stripe customer id (`cus_…`), or undefined when it names none. */
export function stripeCustomerOf(event: {
  readonly data?: { readonly object?: unknown } | null;
}): string | undefined {
  const object = event.data?.object as
    { object?: unknown; id?: unknown; customer?: unknown } | null | undefined;
  if (object === null || typeof object !== 'object') return undefined;
  if (object.object === 'customer') return nonEmpty(object.id);
  const customer = object.customer;
  if (customer !== null && typeof customer === 'object')
    return nonEmpty((customer as { id?: unknown }).id);
  return nonEmpty(customer);
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
