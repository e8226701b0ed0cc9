// Reconciliation with Stripe: drift repair. It walks every customer of the bound account, 100 a
// page (listed, never fetched one by one), and compares each with the catalogue:
// - `equal`: nothing to do, nothing written;
// - `differs`: handed to the linked customer's actor as an observation read at the page's time
//   (event id `reconcile:<run>:<Stripe id>`), so the usual rules decide: echo, staleness (a change
//   the actor knows of that is newer than the read makes it fetch Stripe's current content
//   instead), the three-way merge with its conflicts (reason `drift: …`), the push rule;
// - `relinked`: its `rtws_id` (or, lacking one, its Stripe-born id) names a live customer with no
//   Stripe link at all (a database restored from before the link): the link is recorded again and
//   the pair compared as above;
// - `orphan`, `unlinked`, `unlinked_ours`, `deleted_in_catalogue`: reported, never guessed at;
// - `erased`: a customer an erasure left in Stripe: reported, paired with no id of ours.
// Then the links the walk did not meet (their Stripe customer is gone from the list): each is
// retrieved; a deleted one is handed over as a deletion, a missing one (another account, a restore)
// is reported. Reconciliation never writes to Stripe or Postgres itself, and an equal account costs
// one list call per 100 customers. Each page is one backfill step (backfill-runner.ts).
import type Stripe from 'stripe';
import { differingFields } from '../../../core/canonical.ts';
import {
  RECONCILE_EVENT_PREFIX,
  type StripeCustomerMatched,
  type StripeCustomerObserved,
} from '../../../actors/customer/index.ts';
import { recordLink } from '../../../adapters/postgres/links.ts';
import { erasedExternals } from '../../../adapters/postgres/erasures.ts';
import type { DecisionSample } from '../../../adapters/postgres/backfills.ts';
import {
  catalogueRows,
  customersLinkedTo,
  customersWithLink,
  type CatalogueRow,
  forgetEndedRuns,
  forgetSeen,
  recordSeen,
  unseenLinks,
  type Difference,
} from '../../../adapters/postgres/reconciliations.ts';
import { fieldsOf } from '../../../adapters/stripe/mapper.ts';
import { stripeBornId } from '../../../adapters/postgres/stripe-customer-id.ts';
import { customersAfter, walkCursor } from './stripe-walk.ts';
import { publishTo } from './import-handover.ts';
import { behind, handOverRow, type ActorKnowledge, type Behind } from './reconcile-behind.ts';
import { UUID } from './import-decisions.ts';
import { settle, type Found as BaseFound, type ReconcileDecision } from './reconcile-found.ts';
import {
  SALESFORCE_LINKS_PHASE,
  SALESFORCE_PHASE,
  salesforceLinksPage,
  salesforcePage,
  type SalesforceReadDeps,
} from './reconcile-salesforce.ts';
import type { ImportDeps } from './stripe-import.ts';

const LINKS = 'links:';
const LINKS_PAGE = 100;
const DEFAULT_KEEP_DAYS = 90;

export type { ReconcileDecision } from './reconcile-found.ts';

export type { ActorKnows } from './reconcile-behind.ts';

export interface ReconcilePage {
  readonly cursor: string | null;
  readonly more: boolean;
  readonly decisions: readonly (DecisionSample & { decision: ReconcileDecision })[];
  readonly differences: readonly Difference[];
}

/** What a reconciliation reads from: the bound Stripe account, Salesforce, or both. */
export type ReconcileDeps = Omit<ImportDeps, 'stripe'> & {
  readonly stripe?: Stripe;
  readonly salesforce?: SalesforceReadDeps;
  /** The version the customer's actor last took from the catalogue, and whether it was a deletion. */
  readonly actorKnows?: ActorKnowledge;
  /** Days an ended run's differences are kept. */
  readonly keepDays?: number;
};

/** The targets a reconciliation reads. */
export function reconciledTargets(o: ReconcileDeps): string[] {
  return [...(o.stripe ? ['stripe'] : []), ...(o.salesforce ? ['salesforce'] : [])];
}

/**
 * One step: a page of Stripe customers, then the Stripe links it did not meet, then a page of
 * Salesforce records, then the Salesforce links the read did not meet; each phase where the target
 * is configured. The cursor says which phase and where in it.
 */
export async function reconcilePage(
  o: ReconcileDeps,
  runId: number,
  cursor: string | null,
): Promise<ReconcilePage> {
  if (cursor === null) await forgetEndedRuns(o.sql, o.keepDays ?? DEFAULT_KEEP_DAYS);
  const page = await phase(o, runId, cursor);
  if (!page.more) await forgetSeen(o.sql, runId);
  return page;
}

function phase(o: ReconcileDeps, runId: number, cursor: string | null): Promise<ReconcilePage> {
  const salesforceFrom = (): ReconcilePage => ({
    cursor: o.salesforce ? SALESFORCE_PHASE : null,
    more: o.salesforce !== undefined,
    decisions: [],
    differences: [],
  });
  if (cursor?.startsWith(SALESFORCE_LINKS_PHASE))
    return salesforceLinksPage(o, runId, cursor.slice(SALESFORCE_LINKS_PHASE.length));
  if (cursor?.startsWith(SALESFORCE_PHASE))
    return salesforcePage(o, runId, cursor.slice(SALESFORCE_PHASE.length));
  if (!o.stripe) {
    if (!o.salesforce) throw new Error('no target is configured: there is nothing to reconcile');
    return salesforcePage(o, runId, '');
  }
  const stripe = o.stripe;
  if (cursor?.startsWith(LINKS))
    return linksPage(o, stripe, runId, cursor.slice(LINKS.length) || null).then((p) =>
      p.more ? p : { ...salesforceFrom(), decisions: p.decisions, differences: p.differences },
    );
  return stripePage(o, stripe, runId, cursor);
}

async function stripePage(
  o: ReconcileDeps,
  stripe: Stripe,
  runId: number,
  cursor: string | null,
): Promise<ReconcilePage> {
  const page = await customersAfter(stripe, cursor);
  const readSecond = Math.floor(Date.now() / 1000);
  const ids = page.data.map((c) => c.id);
  const linked = await customersLinkedTo(o.sql, 'stripe', ids);
  // An unlinked customer without `rtws_id` may be a Stripe-born one whose import left the id to be
  // written with its first push: its id derives from its Stripe id, and stands in where known.
  const born = page.data
    .filter((c) => !linked.has(c.id) && !c.metadata?.rtws_id)
    .map((c) => stripeBornId(c.id));
  const ours = page.data
    .map((c) => c.metadata?.rtws_id)
    .filter((v): v is string => !!v && UUID.test(v))
    .concat(born);
  const rows = await catalogueRows(o.sql, [...new Set([...linked.values(), ...ours])]);
  const withLink = await customersWithLink(o.sql, 'stripe', ours);
  const erased = await erasedExternals(o.sql, 'stripe', ids);
  const found: Found[] = [];
  for (const c of page.data) {
    const customerId = linked.get(c.id);
    // Left in Stripe by an erasure (RTWS_ERASE_REMOTE=false, or its delete gave up): reported
    // without the erased customer's id, which the erasure removed from every pairing.
    if (customerId === undefined && erased.has(c.id)) {
      found.push(report(c, 'erased', null, 'belongs to a customer since erased: left as it is'));
      continue;
    }
    const named = c.metadata?.rtws_id
      ? { rtwsId: c.metadata.rtws_id, by: 'its rtws_id' }
      : customerId === undefined
        ? { rtwsId: await bornIdKnown(o, c.id, rows), by: 'its Stripe-born id' }
        : { rtwsId: undefined, by: '' };
    const { rtwsId } = named;
    if (customerId !== undefined) found.push(compare(c, customerId, rows.get(customerId)));
    else if (!rtwsId)
      found.push(report(c, 'unlinked', null, 'not in the catalogue: an import places it'));
    else if (UUID.test(rtwsId) && rows.get(rtwsId)?.deleted === false && !withLink.has(rtwsId))
      found.push(await relink(o, c, rtwsId, rows.get(rtwsId), named.by));
    else if (UUID.test(rtwsId) && rows.get(rtwsId)?.deleted === false)
      found.push(
        report(
          c,
          'unlinked_ours',
          rtwsId,
          `${named.by} names ${rtwsId}, which is not linked to it`,
        ),
      );
    else found.push(await orphan(o, c, rtwsId, rows.get(rtwsId), named.by));
  }
  await markBehind(o, found, rows);
  await handOver(o, runId, readSecond, found);
  await recordSeen(o.sql, runId, 'stripe', ids);
  const last = page.data.at(-1);
  const next = page.has_more ? (last ? walkCursor(last) : cursor) : LINKS;
  return { cursor: next, more: true, ...(await settle(o.sql, runId, found)) };
}

interface Found extends BaseFound {
  /** The observation for the actor of `customerId`, if any. */
  readonly handover?: { customerId: string; customer: Stripe.Customer; deleted?: boolean };
  /** The catalogue's row, read behind what its actor knows: handed over first. */
  readonly behind?: Behind;
}

function compare(
  c: Stripe.Customer,
  customerId: string,
  row: { fields: ReturnType<typeof fieldsOf>; deleted: boolean } | undefined,
): Found {
  if (!row || row.deleted)
    return report(
      c,
      'deleted_in_catalogue',
      customerId,
      'deleted in the catalogue, still in Stripe',
    );
  const fields = differingFields(row.fields, fieldsOf(c));
  if (fields.length === 0)
    return { sample: { id: c.id, decision: 'equal', reason: 'the same in both' } };
  const detail = `${fields.join(', ')} differ: handed to the customer's actor`;
  return {
    sample: { id: c.id, decision: 'differs', reason: detail },
    difference: { target: 'stripe', customerId, externalId: c.id, kind: 'differs', fields, detail },
    handover: { customerId, customer: c },
  };
}

/**
 * A Stripe customer whose `rtws_id` names a live catalogue customer with no Stripe link at all:
 * the link was lost (a database restored from before it was made). It is recorded again, by the
 * rule the inbound mapping follows, and the actor is told of the pair (a match, which an actor
 * that still knows the link ignores) before the content is compared as for any linked customer.
 */
async function relink(
  o: ReconcileDeps,
  c: Stripe.Customer,
  customerId: string,
  row: CatalogueRow | undefined,
  by: string,
): Promise<Found> {
  await recordLink(o.sql, customerId, 'stripe', c.id);
  const matched: StripeCustomerMatched = {
    type: 'StripeCustomerMatched',
    data: {
      stripeId: c.id,
      fields: fieldsOf(c),
      policy: 'stripe',
      rtwsId: c.metadata?.rtws_id ?? null,
    },
    at: 0,
  };
  await publishTo(o, customerId, matched, `stripe:relink:${c.id}`);
  const compared = compare(c, customerId, row);
  const detail = `its link to ${customerId} was missing (${by} names it): recorded again; ${compared.sample.reason}`;
  return {
    ...compared,
    sample: { id: c.id, decision: 'relinked', reason: detail },
    difference: {
      target: 'stripe',
      customerId,
      externalId: c.id,
      kind: 'relinked',
      fields: compared.difference?.fields ?? [],
      detail,
    },
  };
}

/**
 * A row older than the version its actor last took from the catalogue: the database was restored
 * from a backup. The row is handed to the actor, which brings it forward to what it knows, except
 * the fields edited since.
 */
async function markBehind(
  o: ReconcileDeps,
  found: Found[],
  rows: ReadonlyMap<string, CatalogueRow>,
): Promise<void> {
  for (const [i, f] of found.entries()) {
    const customerId = f.difference?.customerId;
    if (!customerId || !BEHIND_CANDIDATES.has(f.sample.decision)) continue;
    const row = rows.get(customerId);
    if (!row) continue;
    const b = await behind(o.actorKnows, customerId, row, f.difference?.externalId ?? null);
    if (!b) continue;
    found[i] = {
      ...f,
      sample: { ...f.sample, decision: 'catalogue_behind', reason: b.detail },
      difference: { ...f.difference, kind: 'catalogue_behind', detail: b.detail },
      behind: b,
    };
  }
}

/** Decisions about a live row that a restore may explain. */
const BEHIND_CANDIDATES: ReadonlySet<ReconcileDecision> = new Set([
  'differs',
  'relinked',
  'deleted_in_stripe',
]);

/**
 * A Stripe customer whose `rtws_id` names no live catalogue customer. One its actor knows, and the
 * catalogue lacks altogether, was created after the backup a database was restored from: it is
 * handed to the actor, which inserts it again. Any other is an orphan, reported and left.
 */
async function orphan(
  o: ReconcileDeps,
  c: Stripe.Customer,
  rtwsId: string,
  row: CatalogueRow | undefined,
  by: string,
): Promise<Found> {
  const b = UUID.test(rtwsId) && !row ? await behind(o.actorKnows, rtwsId, row, c.id) : undefined;
  if (!b) return report(c, 'orphan', null, `${by} ${rtwsId} names no live catalogue customer`);
  return {
    ...report(c, 'catalogue_behind', rtwsId, `${by} names it, ${b.detail}`),
    behind: b,
  };
}

function report(
  c: Stripe.Customer | { id: string },
  decision: ReconcileDecision,
  customerId: string | null,
  detail: string,
): Found {
  return {
    sample: { id: c.id, decision, reason: detail },
    difference: {
      target: 'stripe',
      customerId,
      externalId: c.id,
      kind: decision,
      fields: [],
      detail,
    },
  };
}

/**
 * The Stripe-born id of a Stripe customer, when the catalogue has a row under it or its actor
 * knows it; otherwise nothing of ours is it.
 */
async function bornIdKnown(
  o: ReconcileDeps,
  stripeId: string,
  rows: ReadonlyMap<string, CatalogueRow>,
): Promise<string | undefined> {
  const id = stripeBornId(stripeId);
  if (rows.has(id)) return id;
  return (await o.actorKnows?.(id)) !== undefined ? id : undefined;
}

/** Each observation goes after live changes and backfills' own, to the customer's own subject. */
async function handOver(o: ReconcileDeps, runId: number, readSecond: number, found: Found[]) {
  for (const f of found) {
    if (f.behind) await handOverRow(o, runId, f.behind);
    if (!f.handover) continue;
    const { customerId, customer: c, deleted } = f.handover;
    await o.paced?.();
    const eventId = `${RECONCILE_EVENT_PREFIX}${runId}:${c.id}${deleted ? ':deleted' : ''}`;
    const observed: StripeCustomerObserved = {
      type: 'StripeCustomerObserved',
      data: {
        eventId,
        eventType: deleted ? 'customer.deleted' : 'customer.updated',
        stripeId: c.id,
        created: readSecond,
        key: null,
        fields: fieldsOf(c),
        rtwsId: c.metadata?.rtws_id ?? null,
      },
      at: 0,
    };
    await publishTo(o, customerId, observed, `stripe:${eventId}`);
  }
}

/** The links the walk did not meet: each Stripe customer is retrieved, one call each. */
async function linksPage(
  o: ReconcileDeps,
  stripe: Stripe,
  runId: number,
  after: string | null,
): Promise<ReconcilePage> {
  const links = await unseenLinks(o.sql, runId, 'stripe', after, LINKS_PAGE);
  const rows = await catalogueRows(
    o.sql,
    links.map((l) => l.customerId),
  );
  const found: Found[] = [];
  const readSecond = Math.floor(Date.now() / 1000);
  for (const { customerId, externalId } of links) {
    await o.paced?.();
    const c = await retrieve(stripe, externalId);
    if (c === 'missing')
      found.push(
        report(
          { id: externalId },
          'missing_in_stripe',
          customerId,
          'linked, but not in the bound account: nothing was deleted',
        ),
      );
    else if (c.deleted === true) {
      const gone = { id: externalId, metadata: {} } as unknown as Stripe.Customer;
      found.push({
        sample: {
          id: externalId,
          decision: 'deleted_in_stripe',
          reason: "deleted in Stripe: handed to the customer's actor",
        },
        difference: {
          target: 'stripe',
          customerId,
          externalId,
          kind: 'deleted_in_stripe',
          fields: [],
          detail: "deleted in Stripe: handed to the customer's actor",
        },
        handover: { customerId, customer: gone, deleted: true },
      });
    } else found.push(compare(c, customerId, rows.get(customerId)));
  }
  await markBehind(o, found, rows);
  await handOver(o, runId, readSecond, found);
  const more = links.length === LINKS_PAGE;
  return {
    cursor: more ? `${LINKS}${links.at(-1)!.customerId}` : null,
    more,
    ...(await settle(o.sql, runId, found)),
  };
}

async function retrieve(
  stripe: Stripe,
  id: string,
): Promise<Stripe.Customer | Stripe.DeletedCustomer | 'missing'> {
  try {
    return await stripe.customers.retrieve(id);
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return 'missing';
    throw err;
  }
}
