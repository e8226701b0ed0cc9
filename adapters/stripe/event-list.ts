// Stripe's events in a span of seconds, for catch-up. Stripe lists newest first and keeps 30 days;
// the walk follows `starting_after` back to the span's start, so an event created meanwhile is left
// to the next catch-up rather than shifting the pages under it.
import type Stripe from 'stripe';

/**
 * Events of the given types created at or after `from` and before `to` (unix seconds), oldest
 * first; `undefined` once there are more than `max` of them, as soon as that is known. All of a
 * span's events are held at once: `max` bounds what that costs.
 */
export async function eventsBetween(
  stripe: Stripe,
  from: number,
  to: number,
  types: readonly string[],
  max = Infinity,
): Promise<Stripe.Event[] | undefined> {
  const out: Stripe.Event[] = [];
  // `types[]` takes at most 20 exact names; Stripe refuses wildcards there.
  for (let i = 0; i < types.length; i += 20) {
    const page = types.slice(i, i + 20);
    for await (const e of stripe.events.list({
      created: { gte: from, lt: to },
      types: page,
      limit: 100,
    })) {
      out.push(e);
      if (out.length > max) return undefined;
    }
  }
  // `created` is whole seconds; the list's own order settles ties within one.
  return out.reverse().sort((a, b) => a.created - b.created);
}
