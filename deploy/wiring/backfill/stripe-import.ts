// Import from Stripe: walks every customer of the bound account, 100 a page, newest first (Stripe's
// order, with `starting_after`), saving the cursor after each page so that a restart resumes there.
// Customers created during the walk arrive through webhooks and catch-up instead. Each customer:
// - `linked`: already linked to a catalogue customer; left to the ordinary flows;
// - `insert`: nothing in the catalogue is it: handed to the actor of its Stripe-born id as an
//   observation, exactly as its `customer.created` webhook would be, so the actor inserts it and
//   writes `metadata.rtws_id` back (one Stripe call each);
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
import type {
  StripeCustomerMatched,
  StripeCustomerObserved,
} from '../../../actors/customer/index.ts';
import { encodeRecordedEvent } from '../../../actors/runtime/outcome-message.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import type { Ambiguity, DecisionSample } from '../../../adapters/postgres/backfills.ts';
import { fieldsOf } from '../../../adapters/stripe/mapper.ts';
import { customersWithEmail } from '../../../adapters/stripe/match.ts';
import { RTWS_INVOICE_ID_KEY } from '../../../core/invoice.ts';
import type { InboundPublish } from '../../../adapters/jetstream/inbound.ts';
import { stripeBornId } from '../../../adapters/postgres/stripe-customer-id.ts';
import { offerRow } from './resync.ts';

export const IMPORT_DECISIONS = [
  'linked',
  'insert',
  'match',
  'adopt',
  'ambiguous',
  'orphan',
  'unlinked_ours',
  'email_in_catalogue',
  'invoice_record',
  'invoice_known',
  'invoice_foreign',
  'invoice_customer_not_imported',
] as const;
export type ImportDecision = (typeof IMPORT_DECISIONS)[number];

const REASONS: Record<ImportDecision, string> = {
  linked: 'already linked to a catalogue customer',
  insert: 'nothing in the catalogue is this customer: inserted as a Stripe-born customer',
  match: 'the one unlinked catalogue customer with this email: linked to it',
  adopt: 'its metadata.rtws_id names no catalogue customer: adopted as a Stripe-born customer',
  ambiguous: 'several candidates share this email: nothing linked',
  orphan: 'its metadata.rtws_id names no catalogue customer: not imported (adopt_orphans)',
  unlinked_ours: 'its metadata.rtws_id names a catalogue customer linked elsewhere: not imported',
  email_in_catalogue:
    'a catalogue customer has this email but cannot be matched (matching off, or it is linked)',
  invoice_record: 'recorded against its customer, with origin stripe (it is never issued again)',
  invoice_known: 'already recorded',
  invoice_foreign: 'its metadata.rtws_invoice_id names no invoice of this catalogue: not recorded',
  invoice_customer_not_imported: 'its customer is not (and will not be) in the catalogue',
};

/** The invoice walk's cursors start with this, after the customers' walk. */
export const INVOICES_CURSOR = 'invoices:';

/** Handovers published at once, awaiting their acks together. */
const IN_FLIGHT = 32;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const encoder = new TextEncoder();

export interface ImportDeps {
  readonly stripe: Stripe;
  readonly sql: Sql;
  readonly publisher: DurablePublisher;
  /** Where invoices go to be recorded: INBOUND, as their webhooks would. */
  readonly publishInbound?: InboundPublish;
  readonly names: Names;
  /** Default: by email, the Stripe customer's values kept. */
  readonly match?: { readonly by: 'email' | 'none'; readonly merge: 'stripe' | 'catalogue' };
  /** The Stripe account bound now, stamped on each customer handed over. */
  readonly binding?: () => string | undefined;
  /** Waits, before each customer handed over, until live changes leave room in the budget. */
  readonly paced?: () => Promise<void>;
}

export interface ImportPageOptions {
  readonly dryRun?: boolean;
  readonly adoptOrphans?: boolean;
  /** After the customers, walk the account's invoices too. */
  readonly invoices?: boolean;
}

/** One page of the walk, decided (and, unless a dry run, handed over). */
export interface ImportPage {
  /** The last Stripe id of this page: the next page starts after it. */
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
  const page = await o.stripe.customers.list({
    limit: 100,
    ...(cursor ? { starting_after: cursor } : {}),
  });
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
      send(handOver(o, c, decision === 'adopt'));
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
  return { cursor: page.data.at(-1)?.id ?? cursor, more: page.has_more, decisions, ambiguities };
}

/**
 * One page of the account's invoices, each recorded against its customer as its `invoice.created`
 * webhook would be: published to INBOUND, where the invoice consumer waits for a customer handed
 * over by this import to be linked. Its status is the invoice's as listed now.
 */
async function invoicePage(
  o: ImportDeps,
  after: string | null,
  options: ImportPageOptions,
): Promise<ImportPage> {
  const page = await o.stripe.invoices.list({
    limit: 100,
    expand: ['data.customer'],
    ...(after ? { starting_after: after } : {}),
  });
  const ids = page.data.map((i) => i.id);
  const known = new Set(
    (
      await o.sql<{ stripe_invoice_id: string }[]>`
        SELECT stripe_invoice_id FROM invoices WHERE stripe_invoice_id = ANY(${o.sql.array(ids)})`
    ).map((r) => r.stripe_invoice_id),
  );
  const named = page.data
    .map((i) => i.metadata?.[RTWS_INVOICE_ID_KEY])
    .filter((v): v is string => !!v && UUID.test(v));
  const ours = new Set(
    (
      await o.sql<
        { id: string }[]
      >`SELECT id FROM invoices WHERE id = ANY(${o.sql.array(named)}::uuid[])`
    ).map((r) => r.id),
  );
  const customers = new Map<string, Stripe.Customer>();
  for (const i of page.data)
    if (
      i.customer &&
      typeof i.customer === 'object' &&
      !('deleted' in i.customer && i.customer.deleted)
    )
      customers.set(i.customer.id, i.customer);
  const fates = await decide(o.sql, [...customers.values()]);
  // A customer this import matched by email is linked (or being linked): its invoices go too.
  for (const [id, fate] of fates)
    if (fate === 'email_in_catalogue') {
      const pair = await pairOf(o, customers.get(id)!);
      if (pair?.decision === 'match') fates.set(id, 'match');
    }
  const decisions: (DecisionSample & { decision: ImportDecision })[] = [];
  for (const invoice of page.data) {
    const customerId =
      typeof invoice.customer === 'string' ? invoice.customer : invoice.customer?.id;
    const rtwsInvoiceId = invoice.metadata?.[RTWS_INVOICE_ID_KEY];
    let fate = customerId ? fates.get(customerId) : undefined;
    if (fate === 'orphan' && options.adoptOrphans) fate = 'adopt';
    const decision: ImportDecision = known.has(invoice.id)
      ? 'invoice_known'
      : rtwsInvoiceId !== undefined && !ours.has(rtwsInvoiceId)
        ? 'invoice_foreign'
        : fate === 'linked' || fate === 'insert' || fate === 'adopt' || fate === 'match'
          ? 'invoice_record'
          : 'invoice_customer_not_imported';
    decisions.push({ id: invoice.id, decision, reason: REASONS[decision] });
    if (decision !== 'invoice_record' || options.dryRun) continue;
    if (!o.publishInbound)
      throw new Error('invoices cannot be imported here: no INBOUND publisher');
    const event = {
      id: `evt_import_${invoice.id.slice('in_'.length)}`,
      object: 'event',
      type: 'invoice.created',
      created: invoice.created,
      data: { object: { ...invoice, customer: customerId } },
    };
    await o.publishInbound(
      o.names.inboundSubject('stripe', event.type),
      encoder.encode(JSON.stringify(event)),
      `stripe:import:${invoice.id}`,
    );
  }
  const cursor = page.data.at(-1)?.id;
  return {
    cursor: `${INVOICES_CURSOR}${cursor ?? after ?? ''}`,
    more: page.has_more,
    decisions,
    ambiguities: [],
  };
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
 * candidate on both sides, the Stripe side looked up as a create does (`customersWithEmail`).
 */
async function pairOf(
  o: ImportDeps,
  c: Stripe.Customer,
): Promise<{ decision: ImportDecision; customerId?: string; ambiguity?: Ambiguity } | undefined> {
  if ((o.match?.by ?? 'email') === 'none' || !c.email) return undefined;
  const email = c.email.trim().toLowerCase();
  const candidates = await o.sql<{ id: string }[]>`
    SELECT c.id FROM customers c
    WHERE lower(c.email) = ${email} AND c.deleted_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM customer_links l WHERE l.customer_id = c.id AND l.target = 'stripe')`;
  if (candidates.length === 0) return undefined;
  // The same lookup a create makes: search's lag is no matter for customers an account had.
  const twins = new Set([c.id, ...(await customersWithEmail(o.stripe, email)).map((s) => s.id)]);
  const linked = await o.sql<{ external_id: string }[]>`
    SELECT external_id FROM customer_links
    WHERE target = 'stripe' AND external_id = ANY(${o.sql.array([...twins])})`;
  const unlinked = [...twins].filter((id) => !linked.some((l) => l.external_id === id));
  if (candidates.length > 1 || unlinked.length > 1)
    return {
      decision: 'ambiguous',
      ambiguity: {
        stripeId: c.id,
        email,
        customers: candidates.map((r) => r.id),
        stripeIds: unlinked.length > 0 ? unlinked : [c.id],
      },
    };
  return { decision: 'match', customerId: candidates[0]!.id };
}

/**
 * The catalogue customer's row goes first: an actor that never saw the customer (a row from before
 * capture) then has its values to merge. Such an actor plans its create on that row, which takes
 * the match in turn (a create looks up the email first); one that knows the customer takes this
 * match directly.
 */
async function handOverMatch(o: ImportDeps, c: Stripe.Customer, customerId: string) {
  if (!(await offerRow(o, customerId))) return;
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
  o: ImportDeps,
  customerId: string,
  event: StripeCustomerMatched | StripeCustomerObserved,
  msgId: string,
): Promise<void> {
  const message = encodeRecordedEvent(customerId, event, o.binding?.());
  await o.publisher.publish(
    o.names.customerSubject(customerId),
    encoder.encode(JSON.stringify(message)),
    msgId,
  );
}

/**
 * As its `customer.created` webhook would reach the actor of its Stripe-born id. An adopted
 * orphan's stale `rtws_id` is left out, so its actor writes its own over it.
 */
async function handOver(o: ImportDeps, c: Stripe.Customer, adopt: boolean): Promise<void> {
  const customerId = stripeBornId(c.id);
  const observed: StripeCustomerObserved = {
    type: 'StripeCustomerObserved',
    eventId: `import:${c.id}`,
    eventType: 'customer.created',
    stripeId: c.id,
    created: c.created,
    key: null,
    fields: fieldsOf(c),
    rtwsId: adopt ? null : (c.metadata?.rtws_id ?? null),
    at: 0,
  };
  await publishTo(o, customerId, observed, `stripe:import:${c.id}`);
}
