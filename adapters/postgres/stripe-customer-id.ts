// Which of our customers a Stripe customer is. The rules, in order:
// - `metadata.rtws_id`, trusted only when the link table agrees or has no link for that Stripe id
//   (and the customer it names is not linked to another Stripe customer);
// - else the link table;
// - else the customer is Stripe-born: its id is derived from the Stripe id, the same whichever of
//   its events comes first.
import { v5 as uuidv5 } from 'uuid';
import type { Sql } from './connect.ts';
import { customerForExternalId, linkOf } from './links.ts';

/**
 * Which rule named the customer. `email`: a Stripe customer created outside rtws, paired with the
 * one unlinked catalogue customer of its email (decided by the inbound mapping, not here).
 */
export type MappingRoute = 'rtws_id' | 'link' | 'email' | 'stripe_born';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The ids of Stripe-born customers were first made by hashing `rtws:stripe-customer:<Stripe id>`
 * with no namespace. A version 5 UUID hashes its namespace's 16 bytes and then the name, so the
 * first 16 bytes of that prefix, as the namespace, give the very same ids.
 */
const STRIPE_BORN_PREFIX = new TextEncoder().encode('rtws:stripe-customer:');
const STRIPE_BORN_NAMESPACE = STRIPE_BORN_PREFIX.subarray(0, 16);
const STRIPE_BORN_NAME = new TextDecoder().decode(STRIPE_BORN_PREFIX.subarray(16));

/** The id of a Stripe-born customer: a name-based (version 5) UUID of its Stripe id. */
export function stripeBornId(stripeId: string): string {
  return uuidv5(`${STRIPE_BORN_NAME}${stripeId}`, STRIPE_BORN_NAMESPACE);
}

/** Our customer id for a Stripe customer, under the trust rules above. */
export async function customerIdFor(
  sql: Sql,
  stripeId: string,
  rtwsId: string | null,
): Promise<string> {
  return (await mapStripeCustomer(sql, stripeId, rtwsId)).customerId;
}

/**
 * Our customer id for a Stripe customer, the rule that named it, and whether the link table knows
 * the Stripe customer (when it does not, it may be one of an erased customer).
 */
export async function mapStripeCustomer(
  sql: Sql,
  stripeId: string,
  rtwsId: string | null,
): Promise<{ customerId: string; route: MappingRoute; linked: boolean }> {
  const linked = await customerForExternalId(sql, 'stripe', stripeId);
  if (rtwsId !== null && UUID.test(rtwsId)) {
    if (linked === rtwsId) return { customerId: rtwsId, route: 'rtws_id', linked: true };
    if (linked === undefined) {
      // A copy of one of ours (its metadata duplicated) is a customer of its own.
      const itsLink = await linkOf(sql, rtwsId, 'stripe');
      if (itsLink === undefined || itsLink === stripeId)
        return { customerId: rtwsId, route: 'rtws_id', linked: false };
    }
  }
  return linked
    ? { customerId: linked, route: 'link', linked: true }
    : { customerId: stripeBornId(stripeId), route: 'stripe_born', linked: false };
}
