// The invoice walk of an import, after the customers': each invoice of the account whose customer
// is (or is being) imported is recorded as its webhook would record it.
import type Stripe from 'stripe';
import { RTWS_INVOICE_ID_KEY } from '../../../core/invoice.ts';
import type { DecisionSample } from '../../../adapters/postgres/backfills.ts';
import {
  ourInvoiceIds,
  recordedStripeInvoices,
} from '../../../adapters/postgres/import-lookups.ts';
import { decide, pairOf, REASONS, UUID, type ImportDecision } from './import-decisions.ts';
import type { ImportDeps, ImportPage, ImportPageOptions } from './stripe-import.ts';
import { pageAfter, walkCursor } from './stripe-walk.ts';

/** The invoice walk's cursors start with this, after the customers' walk. */
export const INVOICES_CURSOR = 'invoices:';

const encoder = new TextEncoder();

/**
 * One page of the account's invoices, each recorded against its customer as its `invoice.created`
 * webhook would be: published to INBOUND, where the invoice consumer waits for a customer handed
 * over by this import to be linked. Its status is the invoice's as listed now.
 */
export async function invoicePage(
  o: ImportDeps,
  after: string | null,
  options: ImportPageOptions,
): Promise<ImportPage> {
  const page = await pageAfter(
    (params) => o.stripe.invoices.list({ ...params, expand: ['data.customer'] }),
    after,
  );
  const ids = page.data.map((i) => i.id);
  const known = await recordedStripeInvoices(o.sql, ids);
  const named = page.data
    .map((i) => i.metadata?.[RTWS_INVOICE_ID_KEY])
    .filter((v): v is string => !!v && UUID.test(v));
  const ours = await ourInvoiceIds(o.sql, named);
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
      o.names.inboundSubject('stripe', event.type, customerId),
      encoder.encode(JSON.stringify(event)),
      `stripe:import:${invoice.id}`,
    );
  }
  const last = page.data.at(-1);
  return {
    cursor: `${INVOICES_CURSOR}${last ? walkCursor(last) : (after ?? '')}`,
    more: page.has_more,
    decisions,
    ambiguities: [],
  };
}
