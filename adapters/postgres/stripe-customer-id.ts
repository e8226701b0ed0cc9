// Which of our customers a Stripe customer is. The rules, in order:
// - `metadata.rtws_id`, trusted only when the link table agrees or has no link for that Stripe id
//   (and the customer it names is not linked to another Stripe customer);
// - else the link table;
// - else the customer is Stripe-born: its id is derived from the Stripe id, the same whichever of
//   its events comes first.
import { createHash } from 'node:crypto';
import type { Sql } from './connect.ts';
import { customerForExternalId, linkOf } from './links.ts';

/** Which rule named the customer. */
export type MappingRoute = 'rtws_id' | 'link' | 'stripe_born';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The id of a Stripe-born customer: a name-based (version 5 style) UUID of its Stripe id. */
export function stripeBornId(stripeId: string): string {
  const h = createHash('sha1').update(`rtws:stripe-customer:${stripeId}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Our customer id for a Stripe customer, under the trust rules above. */
export async function customerIdFor(
  sql: Sql,
  stripeId: string,
  rtwsId: string | null,
): Promise<string> {
  return (await mapStripeCustomer(sql, stripeId, rtwsId)).customerId;
}

/** Our customer id for a Stripe customer, and the rule that named it. */
export async function mapStripeCustomer(
  sql: Sql,
  stripeId: string,
  rtwsId: string | null,
): Promise<{ customerId: string; route: MappingRoute }> {
  const linked = await customerForExternalId(sql, 'stripe', stripeId);
  if (rtwsId !== null && UUID.test(rtwsId)) {
    if (linked === rtwsId) return { customerId: rtwsId, route: 'rtws_id' };
    if (linked === undefined) {
      // A copy of one of ours (its metadata duplicated) is a customer of its own.
      const itsLink = await linkOf(sql, rtwsId, 'stripe');
      if (itsLink === undefined || itsLink === stripeId)
        return { customerId: rtwsId, route: 'rtws_id' };
    }
  }
  return linked
    ? { customerId: linked, route: 'link' }
    : { customerId: stripeBornId(stripeId), route: 'stripe_born' };
}
