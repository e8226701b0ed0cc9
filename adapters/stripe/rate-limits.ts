// How fast rtws calls Stripe, from the limits Stripe sets per account.

/** Stripe allows 25 requests/s in test mode and 100/s live; rtws stays under both. */
export function defaultStripeRate(secretKey: string): number {
  return secretKey.includes('_live_') ? 80 : 20;
}

/** Stripe allows 20 searches a second per account; each lookup before a create makes one. */
const SEARCH_BUDGET = 18;

/**
 * Lookups before creates started per second, per process. A lookup makes two reads that the call
 * budget does not see (it counts the create as one call): a quarter of that budget keeps them
 * within it, as far as Stripe's search limit allows (18 live, 5 in test mode by default).
 */
export function lookupsPerSecond(callsPerSecond: number): number {
  return Math.min(SEARCH_BUDGET, Math.max(1, Math.floor(callsPerSecond / 4)));
}
