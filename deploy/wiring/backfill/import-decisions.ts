// What an import does with each Stripe customer (see stripe-import.ts for the list), decided from
// the catalogue's links, ids and emails, and for an email shared with the catalogue, from the
// same lookup in Stripe that a create makes.
import type Stripe from 'stripe';
import type { Ambiguity } from '../../../adapters/postgres/backfills.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import {
  catalogueEmails,
  linkedStripeIds,
  liveCustomerIds,
  unlinkedCustomersWithEmail,
} from '../../../adapters/postgres/import-lookups.ts';
import { stripeBornId } from '../../../adapters/postgres/stripe-customer-id.ts';
import { customersWithEmail } from '../../../adapters/stripe/match.ts';
import { erasedExternals } from '../../../adapters/postgres/erasures.ts';

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
  'erased',
] as const;
export type ImportDecision = (typeof IMPORT_DECISIONS)[number];

export const REASONS: Record<ImportDecision, string> = {
  linked: 'already linked to a catalogue customer',
  erased: 'the Stripe customer of an erased customer: never imported again',
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

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** What pairing by email reads. */
export interface PairLookup {
  readonly sql: Sql;
  readonly stripe: Stripe;
  readonly match?: { readonly by: 'email' | 'none' };
}

/** One page's decisions, from three queries rather than three per customer. */
export async function decide(
  sql: Sql,
  page: Stripe.Customer[],
): Promise<Map<string, ImportDecision>> {
  const linked = await linkedStripeIds(
    sql,
    page.map((c) => c.id),
  );
  const rtwsIds = page
    .map((c) => c.metadata?.rtws_id)
    .filter((v): v is string => !!v && UUID.test(v));
  const live = await liveCustomerIds(sql, rtwsIds);
  const emails = page.map((c) => c.email?.trim().toLowerCase()).filter((e): e is string => !!e);
  const known = await catalogueEmails(sql, emails);
  const erased = await erasedExternals(
    sql,
    'stripe',
    page.map((c) => c.id),
  );
  const out = new Map<string, ImportDecision>();
  for (const c of page) {
    const rtwsId = c.metadata?.rtws_id;
    const email = c.email?.trim().toLowerCase();
    if (erased.has(c.id)) out.set(c.id, 'erased');
    else if (linked.has(c.id)) out.set(c.id, 'linked');
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
export async function pairOf(
  o: PairLookup,
  c: Stripe.Customer,
): Promise<{ decision: ImportDecision; customerId?: string; ambiguity?: Ambiguity } | undefined> {
  if ((o.match?.by ?? 'email') === 'none' || !c.email) return undefined;
  const email = c.email.trim().toLowerCase();
  const candidates = await unlinkedCustomersWithEmail(o.sql, email);
  if (candidates.length === 0) return undefined;
  // The same lookup a create makes: search's lag is no matter for customers an account had.
  const twins = new Set([c.id, ...(await customersWithEmail(o.stripe, email)).map((s) => s.id)]);
  const linked = await linkedStripeIds(o.sql, [...twins]);
  const unlinked = [...twins].filter((id) => !linked.has(id));
  if (candidates.length > 1 || unlinked.length > 1)
    return {
      decision: 'ambiguous',
      ambiguity: {
        stripeId: c.id,
        email,
        customers: candidates,
        stripeIds: unlinked.length > 0 ? unlinked : [c.id],
      },
    };
  return { decision: 'match', customerId: candidates[0]! };
}
