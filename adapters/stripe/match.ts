// Match before create: a new catalogue customer whose email Stripe already has, once and unlinked,
// is linked to that Stripe customer instead of getting a second one.
//
// Stripe's `email` list filter is case-sensitive and its search lags, so two lookups are made:
// the list by the lowercased email (consistent: it sees a customer made a moment ago, and every
// customer rtws creates, whose email is canonical and so lowercased) and a search by email (any
// case, but only what Stripe has indexed, usually within a minute). The lookup, the claim of the
// match and the create run alone for their email (`serialise`), so two creates cannot both miss
// each other, nor both take one Stripe customer.
import type Stripe from 'stripe';
import {
  knownAfterCreate,
  madeSinceCreate,
  type StripeIntent,
} from '../../actors/customer/index.ts';
import { sameValue } from '../../core/canonical.ts';
import { RtwsError } from '../../core/errors.ts';
import { KeyedQueue } from '../../core/keyed-queue.ts';
import { fieldsOf } from './mapper.ts';

type CreateIntent = Extract<StripeIntent, { type: 'CreateStripeCustomer' }>;

/** Runs `fn` while no other call for `key` runs (in this process, and across processes if wired). */
export type Serialise = <T>(key: string, fn: () => Promise<T>) => Promise<T>;

/** How a create looks for the Stripe customer it may already have. */
export interface MatchSettings {
  readonly by: 'email' | 'none';
  /** Which values a matched pair keeps where they differ (recorded in the outcome). */
  readonly merge: 'stripe' | 'catalogue';
  readonly serialise: Serialise;
  /**
   * Waits for room in the search budget before a lookup (Stripe allows 20 searches a second per
   * account, apart from the other calls), at most `maxWaitMs`: resolves 0 once the lookup may go,
   * or the longer wait it refused (the lookup then takes no turn). Unset: no wait.
   */
  readonly paceSearch?: (maxWaitMs: number) => Promise<number>;
  /** The catalogue customer each given Stripe customer is linked to, by the link table. */
  readonly linksOf?: (stripeIds: readonly string[]) => Promise<ReadonlyMap<string, string>>;
  /** The Stripe customer the link table links this customer to already, if any. */
  readonly linkOfCustomer?: (customerId: string) => Promise<string | undefined>;
}

/** What the lookup before a create decided. */
export type BeforeCreate =
  | { readonly kind: 'create' }
  /** `customer` is ours already (our id) or was unlinked and is now claimed for us. */
  | { readonly kind: 'matched'; readonly customer: Stripe.Customer }
  /** `customer` is this create's own, made by an earlier try (see `landedCreate`). */
  | { readonly kind: 'landed'; readonly customer: Stripe.Customer }
  | { readonly kind: 'ambiguous'; readonly ids: readonly string[] };

/**
 * A failure before anything was created: the create was not sent, so resending its key is safe.
 * Its `cause` is the error of the lookup, the claim or the lock.
 */
export class MatchNotSentError extends RtwsError {
  constructor(cause: unknown) {
    super('match_not_sent', 'not sent: the lookup before the create failed', { cause });
  }
}

export function matchKey(email: string): string {
  return `rtws.stripe-match:${email}`;
}

/**
 * Looks the email up and, when exactly one unlinked Stripe customer has it, claims it by writing
 * `metadata.rtws_id`: the next lookup for this email, here or in another process, then sees it
 * linked. Must run inside `serialise(matchKey(email))`.
 */
export async function lookUpBeforeCreate(
  stripe: Stripe,
  intent: CreateIntent,
  email: string,
  settings: MatchSettings,
  customerId: string,
): Promise<BeforeCreate> {
  // Found carrying our id, never one this lookup claims: that one was someone else's until now.
  const ownOrMatched = (customer: Stripe.Customer): BeforeCreate =>
    landedCreate(customer, intent, customerId)
      ? { kind: 'landed', customer }
      : { kind: 'matched', customer };
  try {
    // Paired already (a customer made in the dashboard with this email, say): never a second one.
    const paired = await settings.linkOfCustomer?.(customerId);
    if (paired !== undefined) {
      const found = await stripe.customers.retrieve(paired).catch((err: unknown) => {
        if ((err as { statusCode?: number }).statusCode === 404) return undefined;
        throw err;
      });
      if (found && !found.deleted) return ownOrMatched(found);
    }
    const candidates = await customersWithEmail(stripe, email);
    const links = settings.linksOf
      ? await settings.linksOf(candidates.map((c) => c.id))
      : new Map<string, string>();
    const decided = decideMatch(customerId, candidates, links);
    if (decided.kind === 'matched') return ownOrMatched(decided.customer);
    if (decided.kind !== 'claim') return decided;
    const claimed = await stripe.customers.update(
      decided.customer.id,
      { metadata: { rtws_id: customerId } },
      intent.key ? { idempotencyKey: `${intent.key}-match-${decided.customer.id}` } : {},
    );
    return { kind: 'matched', customer: claimed };
  } catch (err) {
    throw new MatchNotSentError(err);
  }
}

/**
 * Whether `customer`, which a lookup found carrying our id, is this very create, landed by an
 * earlier try whose answer was lost (a worker killed mid-call, a timeout): Stripe created it once
 * the intent was recorded, or it holds exactly what the create sends. The create is then done,
 * and Stripe is known to hold its values, so a change made in the catalogue since is pushed on
 * them. Taken for a match instead, it would be merged as a stranger's with no common base, and
 * under `RTWS_MATCH_MERGE=stripe` the create's own old values would overwrite that change.
 * A customer someone marked with our id before the create (to settle an ambiguous match) is
 * older than the intent, and is matched as before.
 */
export function landedCreate(
  customer: Stripe.Customer,
  intent: CreateIntent,
  customerId: string,
): boolean {
  if (customer.metadata?.rtws_id !== customerId) return false;
  if (madeSinceCreate(customer.created * 1000, intent.recordedAt)) return true;
  return sameValue(fieldsOf(customer), knownAfterCreate(intent.params));
}

/**
 * The Stripe customers with this (lowercased) email in any case, deduplicated, the list's copy
 * first. A search Stripe refuses leaves the list's answer; one that may pass on a retry throws.
 */
export async function customersWithEmail(
  stripe: Stripe,
  email: string,
): Promise<Stripe.Customer[]> {
  const byId = new Map<string, Stripe.Customer>();
  for await (const c of stripe.customers.list({ email, limit: 100 })) byId.set(c.id, c);
  try {
    const query = `email:"${email.replace(/["\\]/g, '\\$&')}"`;
    for await (const c of stripe.customers.search({ query, limit: 100 }))
      if (!byId.has(c.id) && c.email?.trim().toLowerCase() === email) byId.set(c.id, c);
  } catch (err) {
    // Search is not offered everywhere (an account in India, say): a refusal leaves the list's
    // answer standing. Anything that may pass on a retry (429, 5xx, no answer) fails the call.
    if (!refused(err)) throw err;
  }
  return [...byId.values()];
}

function refused(err: unknown): boolean {
  const status = (err as { statusCode?: number }).statusCode;
  return status !== undefined && status >= 400 && status < 500 && status !== 429 && status !== 409;
}

type Decided =
  | { kind: 'create' }
  | { kind: 'matched'; customer: Stripe.Customer }
  | { kind: 'claim'; customer: Stripe.Customer }
  | { kind: 'ambiguous'; ids: string[] };

/**
 * A candidate that is ours (it carries our id, or the link table links it to us) is taken first:
 * an earlier try of this create, or its claim, landed. Otherwise the unlinked ones count: no
 * `rtws_id` and no link. One is claimed; several are ambiguous, and nothing is linked or created.
 */
export function decideMatch(
  customerId: string,
  candidates: readonly Stripe.Customer[],
  links: ReadonlyMap<string, string>,
): Decided {
  const rtwsIdOf = (c: Stripe.Customer) => c.metadata?.rtws_id || null;
  const ours = candidates.find(
    (c) => links.get(c.id) === customerId || (!links.has(c.id) && rtwsIdOf(c) === customerId),
  );
  if (ours) return { kind: 'matched', customer: ours };
  const free = candidates.filter((c) => !links.has(c.id) && rtwsIdOf(c) === null);
  if (free.length === 1) return { kind: 'claim', customer: free[0]! };
  if (free.length > 1) return { kind: 'ambiguous', ids: free.map((c) => c.id).sort() };
  return { kind: 'create' };
}

/** The reason a hold shows in the sync status and its DLQ letter: what to do about it. */
export function ambiguousReason(ids: readonly string[]): string {
  return (
    `ambiguous match: ${ids.length} unlinked Stripe customers have this email (${ids.join(', ')}); ` +
    'nothing was created or linked. Set metadata.rtws_id to this customer id on the right one ' +
    '(or remove the duplicates), then retry'
  );
}

/** A lock per key within this process: waiters queue, in order. */
export function keyedMutex(): Serialise {
  const queue = new KeyedQueue();
  return (key, fn) => queue.post(key, fn);
}

/**
 * Lets `perSecond` calls through each second, evenly: a call waits for its turn, unless its turn is
 * more than `maxWaitMs` away, when it is refused with that wait and takes no turn.
 */
export function pacer(
  perSecond: number,
  now: () => number = Date.now,
): (maxWaitMs: number) => Promise<number> {
  const gap = 1000 / perSecond;
  let next = 0;
  return async (maxWaitMs) => {
    const t = now();
    const at = Math.max(t, next);
    if (at - t > maxWaitMs) return at - t;
    next = at + gap;
    if (at > t) await new Promise((r) => setTimeout(r, at - t));
    return 0;
  };
}
