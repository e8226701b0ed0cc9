// Carries out one recorded invoice intent with the SDK and reports its outcome as an event. It
// sends exactly the recorded key and parameters, so a retry of the same intent is the same request.
// Items are always created on the draft (`invoice: in_…`), never left pending on the customer, so
// two invoices of one customer in flight at once cannot pick up each other's items.
import Stripe from 'stripe';
import { RTWS_INVOICE_ID_KEY } from '../../core/invoice.ts';
import type {
  InvoiceRecordedEvent,
  StripeInvoiceIntent,
  StripeInvoiceStatus,
} from '../../actors/invoice/index.ts';
import { forgottenKey } from '../../core/policy/retry.ts';
import { classifyStripeError } from './classify.ts';

type Clock = () => number;
type Found = NonNullable<
  Extract<InvoiceRecordedEvent, { type: 'StripeInvoiceInspected' }>['data']['found']
>;

export async function executeInvoiceIntent(
  stripe: Stripe,
  intent: StripeInvoiceIntent,
  now: Clock = Date.now,
): Promise<InvoiceRecordedEvent> {
  const done = { intentId: intent.id };
  const at = now();
  const forgotten = intent.key !== null ? forgottenKey(intent, at) : undefined;
  if (forgotten) return { type: 'InvoiceCallFailed', data: { ...done, ...forgotten }, at };
  try {
    switch (intent.type) {
      case 'CreateStripeInvoice': {
        const p = intent.params;
        const invoice = await stripe.invoices.create(
          {
            customer: p.customer,
            currency: p.currency,
            collection_method: 'send_invoice',
            days_until_due: p.daysUntilDue,
            auto_advance: false,
            pending_invoice_items_behavior: 'exclude',
            metadata: p.metadata,
          },
          keyed(intent.key),
        );
        return {
          type: 'StripeInvoiceDrafted',
          data: { ...done, stripeInvoiceId: invoice.id },
          at: now(),
        };
      }
      case 'AddStripeInvoiceItem': {
        const p = intent.params;
        const item = await stripe.invoiceItems.create(
          {
            customer: p.customer,
            invoice: p.invoice,
            currency: p.currency,
            unit_amount_decimal: Stripe.Decimal.from(String(p.unitAmount)),
            quantity: p.quantity,
            description: p.description,
            metadata: p.metadata,
          },
          keyed(intent.key),
        );
        return {
          type: 'StripeInvoiceItemAdded',
          data: { ...done, stripeItemId: item.id },
          at: now(),
        };
      }
      case 'FinalizeStripeInvoice': {
        const invoice = await stripe.invoices.finalizeInvoice(
          intent.params.invoice,
          { auto_advance: false },
          keyed(intent.key),
        );
        return {
          type: 'StripeInvoiceFinalized',
          data: {
            ...done,
            status: statusOf(invoice),
            number: invoice.number ?? null,
            hostedInvoiceUrl: invoice.hosted_invoice_url ?? null,
          },
          at: now(),
        };
      }
      case 'InspectStripeInvoice': {
        const found = await inspect(stripe, intent.params);
        return { type: 'StripeInvoiceInspected', data: { ...done, found }, at: now() };
      }
      case 'VoidStripeInvoice': {
        const invoice = await stripe.invoices.voidInvoice(
          intent.params.invoice,
          {},
          keyed(intent.key),
        );
        return {
          type: 'StripeInvoiceVoided',
          data: { ...done, status: statusOf(invoice) },
          at: now(),
        };
      }
      case 'DeleteStripeInvoice': {
        await deleteDraft(stripe, intent.params.invoice);
        return { type: 'StripeInvoiceDeleted', data: done, at: now() };
      }
      default: {
        const never: never = intent;
        throw new Error(`unknown intent ${JSON.stringify(never)}`);
      }
    }
  } catch (err) {
    const failed = classifyStripeError(err);
    return {
      type: 'InvoiceCallFailed',
      data: { ...done, ...failed, attempt: intent.attempt },
      at: now(),
    };
  }
}

function keyed(key: string | null): Stripe.RequestOptions {
  return key ? { idempotencyKey: key } : {};
}

function statusOf(invoice: Stripe.Invoice): StripeInvoiceStatus {
  return invoice.status ?? 'draft';
}

/** Deletes a draft; one already gone (a resend after an unanswered delete) is deleted. */
async function deleteDraft(stripe: Stripe, invoice: string): Promise<void> {
  try {
    await stripe.invoices.del(invoice);
  } catch (err) {
    if ((err as { statusCode?: number } | null)?.statusCode !== 404) throw err;
  }
}

/**
 * The invoice (by id, else the customer's invoices created since the first try whose
 * `metadata.rtws_invoice_id` is ours: the list, not search, which may not show one created a
 * moment ago) and the indexes of our items attached to it.
 */
async function inspect(
  stripe: Stripe,
  p: Extract<StripeInvoiceIntent, { type: 'InspectStripeInvoice' }>['params'],
): Promise<Found | null> {
  const invoice = p.invoice
    ? await stripe.invoices.retrieve(p.invoice)
    : p.customer && (await findByRtwsId(stripe, p.customer, p.rtwsInvoiceId, p.createdSince));
  if (!invoice) return null;
  const items: number[] = [];
  for await (const item of stripe.invoiceItems.list({ invoice: invoice.id, limit: 100 })) {
    const index = Number(item.metadata?.rtws_item);
    if (item.metadata?.[RTWS_INVOICE_ID_KEY] === p.rtwsInvoiceId && Number.isInteger(index))
      items.push(index);
  }
  return {
    stripeInvoiceId: invoice.id,
    status: statusOf(invoice),
    number: invoice.number ?? null,
    hostedInvoiceUrl: invoice.hosted_invoice_url ?? null,
    items: items.sort((a, b) => a - b),
  };
}

async function findByRtwsId(
  stripe: Stripe,
  customer: string,
  rtwsInvoiceId: string,
  createdSince: number,
): Promise<Stripe.Invoice | undefined> {
  const list = stripe.invoices.list({ customer, created: { gte: createdSince }, limit: 100 });
  for await (const invoice of list) {
    if (invoice.metadata?.[RTWS_INVOICE_ID_KEY] === rtwsInvoiceId) return invoice;
  }
  return undefined;
}
