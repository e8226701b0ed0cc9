// Import from Stripe: walks every customer of the bound account, 100 a page, newest first (Stripe's
// order, with `starting_after`), saving the cursor after each page so that a restart resumes there.
// Customers created during the walk arrive through webhooks and catch-up instead. Each customer:
// - `linked`: already linked to a catalogue customer; left to the ordinary flows;
// - `insert`: nothing in the catalogue is it: handed to the actor of its Stripe-born id as an
//   observation, exactly as its `customer.created` webhook would be, so the actor inserts it and
//   writes `metadata.rtws_id` back (one Stripe call each);
// - `orphan`: its `metadata.rtws_id` names no live catalogue customer: reported, not imported;
// - `unlinked_ours`: its `rtws_id` names a live catalogue customer not linked to it: reported;
// - `email_in_catalogue`: a live catalogue customer has its email (case-insensitively): reported,
//   not imported, so that no second catalogue customer is made for one person. Matching such pairs
//   is not built yet.
// A dry run decides the same and publishes and saves nothing.
import type Stripe from 'stripe';
import type { DurablePublisher } from '../../core/ports.ts';
import type { Names } from '../../core/subjects.ts';
import type { StripeCustomerObserved } from '../../actors/customer/index.ts';
import { encodeRecordedEvent } from '../../actors/runtime/outcome-message.ts';
import type { Sql } from '../postgres/connect.ts';
import { finishBackfill, runningBackfill, savePage } from '../postgres/backfills.ts';
import { fieldsOf } from '../stripe/mapper.ts';
import { stripeBornId } from './stripe-customer-inbound.ts';

export const IMPORT_DECISIONS = [
  'linked',
  'insert',
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
  /** Told after each page. */
  readonly onPage?: (p: ImportProgress) => void;
  /** Told of each reported (not imported) customer, up to the first 100. */
  readonly onReported?: (stripeId: string, decision: ImportDecision) => void;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const REPORTED_CAP = 100;
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
      const decision = decisions.get(c.id)!;
      counts[decision] = (counts[decision] ?? 0) + 1;
      if (decision === 'insert' && !o.dryRun) await handOver(o, c);
      if (decision !== 'insert' && decision !== 'linked' && reported++ < REPORTED_CAP)
        o.onReported?.(c.id, decision);
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
  const message = encodeRecordedEvent(customerId, observed);
  await o.publisher.publish(
    o.names.customerSubject(customerId),
    encoder.encode(JSON.stringify(message)),
    `stripe:import:${c.id}`,
  );
}
