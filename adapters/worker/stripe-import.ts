// Import from Stripe: walks every customer of the bound account, 100 a page, newest first (Stripe's
// order, with `starting_after`), saving the cursor after each page so that a restart resumes there.
// Customers created during the walk arrive through webhooks and catch-up instead. Each customer:
// - `linked`: already linked to a catalogue customer; left to the ordinary flows;
// - `insert`: nothing in the catalogue is it: handed to the actor of its Stripe-born id as an
//   observation, exactly as its `customer.created` webhook would be, so the actor inserts it and
//   writes `metadata.rtws_id` back (one Stripe call each);
// - `orphan`: its `metadata.rtws_id` names no live catalogue customer: reported, not imported;
// - `unlinked_ours`: its `rtws_id` names a live catalogue customer not linked to it: reported;
// - `match`: exactly one live, unlinked catalogue customer has its email (case-insensitively) and
//   no other unlinked Stripe customer does: handed to that customer's actor, which links the two
//   and settles their differences by RTWS_MATCH_MERGE (with RTWS_MATCH_BY=email, the default);
// - `ambiguous`: several candidates on either side: reported, nothing linked;
// - `email_in_catalogue`: a catalogue customer has its email but matching is off, or that customer
//   is linked already: reported, not imported, so that no person gets a second catalogue customer.
// A dry run decides the same and publishes and saves nothing.
import type Stripe from 'stripe';
import type { DurablePublisher } from '../../core/ports.ts';
import type { Names } from '../../core/subjects.ts';
import type { StripeCustomerMatched, StripeCustomerObserved } from '../../actors/customer/index.ts';
import { encodeRecordedEvent } from '../../actors/runtime/outcome-message.ts';
import type { Sql } from '../postgres/connect.ts';
import { finishBackfill, runningBackfill, savePage } from '../postgres/backfills.ts';
import { fieldsOf } from '../stripe/mapper.ts';
import { stripeBornId } from './stripe-customer-inbound.ts';

export const IMPORT_DECISIONS = [
  'linked',
  'insert',
  'match',
  'ambiguous',
  'orphan',
  'unlinked_ours',
  'email_in_catalogue',
] as const;
export type ImportDecision = (typeof IMPORT_DECISIONS)[number];

export interface ImportProgress {
  readonly scanned: number;
  readonly counts: Readonly<Record<string, number>>;
}

export interface ImportOptions {
  readonly stripe: Stripe;
  readonly sql: Sql;
  readonly publisher: DurablePublisher;
  readonly names: Names;
  readonly dryRun?: boolean;
  /** Default: by email, the Stripe customer's values kept. */
  readonly match?: { readonly by: 'email' | 'none'; readonly merge: 'stripe' | 'catalogue' };
  /** Told after each page. */
  readonly onPage?: (p: ImportProgress) => void;
  /** Told of each reported (not imported) customer, up to the first 100. */
  readonly onReported?: (stripeId: string, decision: ImportDecision) => void;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const REPORTED_CAP = 100;
const REPORTED: ReadonlySet<ImportDecision> = new Set([
  'ambiguous',
  'orphan',
  'unlinked_ours',
  'email_in_catalogue',
]);
const encoder = new TextEncoder();

export async function importFromStripe(o: ImportOptions): Promise<ImportProgress> {
  const saved = o.dryRun ? undefined : await runningBackfill(o.sql, 'stripe');
  let cursor = saved?.cursor ?? undefined;
  let scanned = saved?.scanned ?? 0;
  const counts: Record<string, number> = { ...saved?.counts };
  let reported = 0;
  // A failure leaves the import running: the next one resumes from the saved cursor.
  for (;;) {
    const page = await o.stripe.customers.list({
      limit: 100,
      ...(cursor ? { starting_after: cursor } : {}),
    });
    const decisions = await decide(o.sql, page.data);
    for (const c of page.data) {
      let decision = decisions.get(c.id)!;
      const pair = decision === 'email_in_catalogue' ? await pairOf(o, c) : undefined;
      if (pair) decision = pair.decision;
      counts[decision] = (counts[decision] ?? 0) + 1;
      if (decision === 'insert' && !o.dryRun) await handOver(o, c);
      if (decision === 'match' && pair?.customerId && !o.dryRun)
        await handOverMatch(o, c, pair.customerId);
      if (REPORTED.has(decision) && reported++ < REPORTED_CAP) o.onReported?.(c.id, decision);
    }
    scanned += page.data.length;
    cursor = page.data.at(-1)?.id ?? cursor;
    if (saved) await savePage(o.sql, { id: saved.id, cursor: cursor ?? null, scanned, counts });
    o.onPage?.({ scanned, counts });
    if (!page.has_more) break;
  }
  if (saved) await finishBackfill(o.sql, saved.id, 'done');
  return { scanned, counts };
}

/** One page's decisions, from three queries rather than three per customer. */
async function decide(sql: Sql, page: Stripe.Customer[]): Promise<Map<string, ImportDecision>> {
  const ids = page.map((c) => c.id);
  const linked = new Set(
    (
      await sql<{ external_id: string }[]>`
        SELECT external_id FROM customer_links
        WHERE target = 'stripe' AND external_id = ANY(${sql.array(ids)})`
    ).map((r) => r.external_id),
  );
  const rtwsIds = page
    .map((c) => c.metadata?.rtws_id)
    .filter((v): v is string => !!v && UUID.test(v));
  const live = new Set(
    (
      await sql<{ id: string }[]>`
        SELECT id FROM customers WHERE id = ANY(${sql.array(rtwsIds)}::uuid[]) AND deleted_at IS NULL`
    ).map((r) => r.id),
  );
  const emails = page.map((c) => c.email?.trim().toLowerCase()).filter((e): e is string => !!e);
  const known = new Set(
    (
      await sql<{ email: string }[]>`
        SELECT DISTINCT lower(email) AS email FROM customers
        WHERE lower(email) = ANY(${sql.array(emails)}) AND deleted_at IS NULL`
    ).map((r) => r.email),
  );
  const out = new Map<string, ImportDecision>();
  for (const c of page) {
    const rtwsId = c.metadata?.rtws_id;
    const email = c.email?.trim().toLowerCase();
    if (linked.has(c.id)) out.set(c.id, 'linked');
    else if (rtwsId && rtwsId !== stripeBornId(c.id))
      out.set(c.id, UUID.test(rtwsId) && live.has(rtwsId) ? 'unlinked_ours' : 'orphan');
    else if (email && known.has(email)) out.set(c.id, 'email_in_catalogue');
    else out.set(c.id, 'insert');
  }
  return out;
}

/**
 * The one unlinked catalogue customer with this Stripe customer's email, if it is the only
 * candidate on both sides. Stripe's `email` filter is case-sensitive, so both the stored and the
 * lowercased forms are listed.
 */
async function pairOf(
  o: ImportOptions,
  c: Stripe.Customer,
): Promise<{ decision: ImportDecision; customerId?: string } | undefined> {
  if ((o.match?.by ?? 'email') === 'none' || !c.email) return undefined;
  const email = c.email.trim().toLowerCase();
  const candidates = await o.sql<{ id: string }[]>`
    SELECT c.id FROM customers c
    WHERE lower(c.email) = ${email} AND c.deleted_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM customer_links l WHERE l.customer_id = c.id AND l.target = 'stripe')`;
  if (candidates.length === 0) return undefined;
  const twins = new Set<string>();
  for (const form of new Set([c.email, c.email.trim(), email]))
    for await (const s of o.stripe.customers.list({ email: form, limit: 100 })) twins.add(s.id);
  const linked = await o.sql<{ external_id: string }[]>`
    SELECT external_id FROM customer_links
    WHERE target = 'stripe' AND external_id = ANY(${o.sql.array([...twins])})`;
  const unlinked = [...twins].filter((id) => !linked.some((l) => l.external_id === id));
  if (candidates.length > 1 || unlinked.length > 1) return { decision: 'ambiguous' };
  return { decision: 'match', customerId: candidates[0]!.id };
}

async function handOverMatch(o: ImportOptions, c: Stripe.Customer, customerId: string) {
  const matched: StripeCustomerMatched = {
    type: 'StripeCustomerMatched',
    stripeId: c.id,
    fields: fieldsOf(c),
    policy: o.match?.merge ?? 'stripe',
    at: 0,
  };
  await publishTo(o, customerId, matched, `stripe:match:${c.id}`);
}

/** On the customer's own subject, so the actor decides it in order with everything else. */
async function publishTo(
  o: ImportOptions,
  customerId: string,
  event: StripeCustomerMatched | StripeCustomerObserved,
  msgId: string,
): Promise<void> {
  const message = encodeRecordedEvent(customerId, event);
  await o.publisher.publish(
    o.names.customerSubject(customerId),
    encoder.encode(JSON.stringify(message)),
    msgId,
  );
}

/** As its `customer.created` webhook would reach the actor of its Stripe-born id. */
async function handOver(o: ImportOptions, c: Stripe.Customer): Promise<void> {
  const customerId = stripeBornId(c.id);
  const observed: StripeCustomerObserved = {
    type: 'StripeCustomerObserved',
    eventId: `import:${c.id}`,
    eventType: 'customer.created',
    stripeId: c.id,
    created: c.created,
    key: null,
    fields: fieldsOf(c),
    rtwsId: c.metadata?.rtws_id ?? null,
    at: 0,
  };
  await publishTo(o, customerId, observed, `stripe:import:${c.id}`);
}
