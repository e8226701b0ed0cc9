// Import from Stripe: walks every customer of the bound account, 100 a page, newest first (Stripe's
// order, with `starting_after`), saving the cursor after each page so that a restart resumes there.
// Customers created during the walk arrive through webhooks and catch-up instead. Each customer:
// - `linked`: already linked to a catalogue customer; left to the ordinary flows;
// - `insert`: nothing in the catalogue is it: handed to the actor of its Stripe-born id as an
//   observation, exactly as its `customer.created` webhook would be, so the actor inserts it; its
//   `metadata.rtws_id` goes with its first push (at once, one Stripe call each, with `writeBack`);
// - `orphan`: its `metadata.rtws_id` names no live catalogue customer: reported, not imported,
//   unless the backfill adopts orphans (`adopt`: inserted as a Stripe-born customer, whose actor
//   writes its own id over the stale one);
// - `unlinked_ours`: its `rtws_id` names a live catalogue customer not linked to it: reported;
// - `match`: exactly one live, unlinked catalogue customer has its email (case-insensitively) and
//   no other unlinked Stripe customer does: handed to that customer's actor, which links the two
//   and settles their differences by RTWS_MATCH_MERGE (with RTWS_MATCH_BY=email, the default);
// - `ambiguous`: several candidates on either side: reported, nothing linked;
// - `email_in_catalogue`: a catalogue customer has its email but matching is off, or that customer
//   is linked already: reported, not imported, so that no person gets a second catalogue customer.
// A dry run decides the same and publishes and saves nothing. A page is one step: the backfill
// runner (backfill-runner.ts) saves its progress and cursor after each.
import type Stripe from 'stripe';
import type { DurablePublisher } from '../../../core/ports.ts';
import type { Names } from '../../../core/subjects.ts';
import type { Ambiguity, DecisionSample } from '../../../adapters/postgres/backfills.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import type { InboundPublish } from '../../../adapters/jetstream/inbound.ts';
import type { BindingStamp } from '../../../actors/customer/outcome-message.ts';
import { decide, pairOf, REASONS, type ImportDecision } from './import-decisions.ts';
import { handOver, handOverMatch } from './import-handover.ts';
import { INVOICES_CURSOR, invoicePage } from './import-invoices.ts';
import { customersAfter, walkCursor } from './stripe-walk.ts';

/**
 * Handovers published at once, awaiting their acks together. Each burst becomes as many actor
 * steps at once, which a live change then waits behind: 32 took the live edits' p99 during an
 * import to nearly twice what 8 did, for no faster import (docs/benchmarks.md).
 */
const IN_FLIGHT = 8;

export interface ImportDeps {
  readonly stripe: Stripe;
  readonly sql: Sql;
  readonly publisher: DurablePublisher;
  /** Where invoices go to be recorded: INBOUND, as their webhooks would. */
  readonly publishInbound?: InboundPublish;
  readonly names: Names;
  /** Default: by email, the Stripe customer's values kept. */
  readonly match?: { readonly by: 'email' | 'none'; readonly merge: 'stripe' | 'catalogue' };
  /** The Stripe account and mode bound now, stamped on each customer handed over. */
  readonly binding?: () => BindingStamp | undefined;
  /** Waits, before each customer handed over, until live changes leave room in the budget. */
  readonly paced?: () => Promise<void>;
}

export interface ImportPageOptions {
  readonly dryRun?: boolean;
  readonly adoptOrphans?: boolean;
  /** Write `metadata.rtws_id` onto each inserted customer now, not with its first push. */
  readonly writeBack?: boolean;
  /** After the customers, walk the account's invoices too. */
  readonly invoices?: boolean;
}

/** One page of the walk, decided (and, unless a dry run, handed over). */
export interface ImportPage {
  /** The last Stripe customer of this page (`walkCursor`): the next page starts after it. */
  readonly cursor: string | null;
  readonly more: boolean;
  readonly decisions: readonly (DecisionSample & { decision: ImportDecision })[];
  readonly ambiguities: readonly Ambiguity[];
}

export async function importPage(
  o: ImportDeps,
  cursor: string | null,
  options: ImportPageOptions = {},
): Promise<ImportPage> {
  if (cursor?.startsWith(INVOICES_CURSOR))
    return invoicePage(o, cursor.slice(INVOICES_CURSOR.length) || null, options);
  const page = await customersAfter(o.stripe, cursor);
  const decided = await decide(o.sql, page.data);
  const decisions: (DecisionSample & { decision: ImportDecision })[] = [];
  const ambiguities: Ambiguity[] = [];
  const sent: Promise<void>[] = [];
  let failed: { err: unknown } | undefined;
  // Handled at once: a publish that fails while later ones are prepared must not go unhandled.
  const send = (p: Promise<void>) =>
    sent.push(p.catch((err: unknown) => void (failed ??= { err })));
  for (const c of page.data) {
    let decision = decided.get(c.id)!;
    if (decision === 'orphan' && options.adoptOrphans) decision = 'adopt';
    const pair = decision === 'email_in_catalogue' ? await pairOf(o, c) : undefined;
    if (pair) decision = pair.decision;
    if (pair?.ambiguity) ambiguities.push(pair.ambiguity);
    decisions.push({ id: c.id, decision, reason: REASONS[decision] });
    if (options.dryRun) continue;
    // Each customer waits for room behind live changes, then its publishes go out without waiting
    // for the ones before: they are on different subjects, and the page waits for them all.
    if (decision === 'insert' || decision === 'adopt') {
      await o.paced?.();
      send(handOver(o, c, { adopt: decision === 'adopt', writeBack: !!options.writeBack }));
    }
    if (decision === 'match' && pair?.customerId) {
      await o.paced?.();
      send(handOverMatch(o, c, pair.customerId));
    }
    if (sent.length >= IN_FLIGHT) await Promise.all(sent.splice(0));
  }
  await Promise.all(sent);
  // The page is decided again on the next try; its handovers carry their message ids.
  if (failed) throw failed.err;
  if (!page.has_more && options.invoices)
    return { cursor: INVOICES_CURSOR, more: true, decisions, ambiguities };
  const last = page.data.at(-1);
  return { cursor: last ? walkCursor(last) : cursor, more: page.has_more, decisions, ambiguities };
}

/**
 * How many customers the account holds, from Stripe's search (which lags, and counts exactly only
 * up to 10,000): an estimate for progress, or null where search cannot say.
 */
export async function estimateCustomers(stripe: Stripe): Promise<number | null> {
  try {
    const found = await stripe.customers.search({
      query: 'created>0',
      limit: 1,
      expand: ['total_count'],
    });
    const total = (found as { total_count?: number }).total_count;
    return typeof total === 'number' ? total : null;
  } catch {
    return null;
  }
}
