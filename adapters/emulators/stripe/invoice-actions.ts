import type { Handler } from './api-context.ts';
import { invalidRequest, StripeApiError } from './errors.ts';
import { checkExpand, expandList } from './expand.ts';
import { randomString } from './ids.ts';
import type { InvoiceObject } from './invoice-object.ts';
import {
  commitInvoice,
  customerExpander,
  emitInvoice,
  liveInvoice,
  renderInvoice,
  requireDraft,
} from './invoice-store.ts';
import { checkKeys, optBool, optString } from './params.ts';

const FINALIZE_PARAMS: ReadonlySet<string> = new Set(['auto_advance', 'expand']);
const PAY_PARAMS: ReadonlySet<string> = new Set([
  'expand',
  'forgive',
  'mandate',
  'off_session',
  'paid_out_of_band',
  'payment_method',
  'source',
]);
const EXPAND_ONLY: ReadonlySet<string> = new Set(['expand']);

function paid(invoice: InvoiceObject, now: number, collected: boolean): InvoiceObject {
  return {
    ...invoice,
    status: 'paid',
    amount_paid: invoice.amount_remaining + invoice.amount_paid,
    amount_remaining: 0,
    attempted: invoice.attempted || collected,
    attempt_count: invoice.attempt_count + (collected ? 1 : 0),
    next_payment_attempt: null,
    status_transitions: { ...invoice.status_transitions, paid_at: now },
  };
}

/** `draft → open` with a number from the customer's sequence; a zero total is paid at once. */
export const finalizeInvoice: Handler = (req, svc, [id]) => {
  checkKeys(req.params, FINALIZE_PARAMS);
  checkExpand(expandList(req.params), customerExpander(svc));
  const draft = liveInvoice(svc, id!);
  if (draft.status !== 'draft')
    throw invalidRequest(
      "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
      undefined,
      'invoice_not_editable',
    );
  const customer = svc.state.customers.get(draft.customer);
  const sequence = customer?.next_invoice_sequence ?? 1;
  if (customer) svc.state.putCustomer({ ...customer, next_invoice_sequence: sequence + 1 });
  const token = randomString(40);
  const open: InvoiceObject = {
    ...draft,
    status: 'open',
    number: `${customer?.invoice_prefix ?? 'INV'}-${String(sequence).padStart(4, '0')}`,
    auto_advance: optBool(req.params, 'auto_advance') ?? draft.auto_advance,
    automatically_finalizes_at: null,
    effective_at: req.now,
    hosted_invoice_url: `https://invoice.stripe.com/i/acct_emulator/test_${token}`,
    invoice_pdf: `https://pay.stripe.com/invoice/acct_emulator/test_${token}/pdf`,
    status_transitions: { ...draft.status_transitions, finalized_at: req.now },
    webhooks_delivered_at: req.now,
  };
  if (open.total > 0)
    return renderInvoice(req, svc, commitInvoice(req, svc, draft, open, ['invoice.finalized']));
  emitInvoice(req, svc, 'invoice.finalized', open);
  return renderInvoice(
    req,
    svc,
    commitInvoice(req, svc, draft, paid(open, req.now, false), ['invoice.paid']),
  );
};

function payable(invoice: InvoiceObject): void {
  if (invoice.status === 'open' || invoice.status === 'uncollectible') return;
  if (invoice.status === 'paid')
    throw invalidRequest('Invoice is already paid', undefined, 'invoice_unexpected_state');
  throw invalidRequest(
    `You can only pay an open or uncollectible invoice; this invoice is ${invoice.status}.`,
    undefined,
    'invoice_unexpected_state',
  );
}

/**
 * `paid_out_of_band` marks it paid; a `payment_method` containing "Declined" (as Stripe's test
 * `pm_card_chargeDeclined`) or none at all declines with 402 after recording the attempt.
 */
export const payInvoice: Handler = (req, svc, [id]) => {
  checkKeys(req.params, PAY_PARAMS);
  checkExpand(expandList(req.params), customerExpander(svc));
  const invoice = liveInvoice(svc, id!);
  payable(invoice);
  if (optBool(req.params, 'paid_out_of_band') === true) {
    return renderInvoice(
      req,
      svc,
      commitInvoice(req, svc, invoice, paid(invoice, req.now, false), ['invoice.paid']),
    );
  }
  const method = optString(req.params, 'payment_method') ?? optString(req.params, 'source') ?? null;
  if (method !== null && !/declined/i.test(method)) {
    return renderInvoice(
      req,
      svc,
      commitInvoice(req, svc, invoice, paid(invoice, req.now, true), [
        'invoice.paid',
        'invoice.payment_succeeded',
      ]),
    );
  }
  const failed = { ...invoice, attempted: true, attempt_count: invoice.attempt_count + 1 };
  commitInvoice(req, svc, invoice, failed, ['invoice.payment_failed']);
  throw new StripeApiError(
    402,
    {
      type: 'card_error',
      code: 'card_declined',
      decline_code: 'generic_decline',
      message: 'Your card was declined.',
    },
    {},
    true,
  );
};

export const voidInvoice: Handler = (req, svc, [id]) => {
  checkKeys(req.params, EXPAND_ONLY);
  const invoice = liveInvoice(svc, id!);
  if (invoice.status !== 'open' && invoice.status !== 'uncollectible') {
    throw invalidRequest(
      `You can only void an open or uncollectible invoice; this invoice is ${invoice.status}.`,
      undefined,
      'invoice_unexpected_state',
    );
  }
  const voided: InvoiceObject = {
    ...invoice,
    status: 'void',
    next_payment_attempt: null,
    status_transitions: { ...invoice.status_transitions, voided_at: req.now },
  };
  return renderInvoice(req, svc, commitInvoice(req, svc, invoice, voided, ['invoice.voided']));
};

export const markUncollectible: Handler = (req, svc, [id]) => {
  checkKeys(req.params, EXPAND_ONLY);
  const invoice = liveInvoice(svc, id!);
  if (invoice.status !== 'open') {
    throw invalidRequest(
      `You can only mark an open invoice uncollectible; this invoice is ${invoice.status}.`,
      undefined,
      'invoice_unexpected_state',
    );
  }
  const marked: InvoiceObject = {
    ...invoice,
    status: 'uncollectible',
    next_payment_attempt: null,
    status_transitions: { ...invoice.status_transitions, marked_uncollectible_at: req.now },
  };
  return renderInvoice(
    req,
    svc,
    commitInvoice(req, svc, invoice, marked, ['invoice.marked_uncollectible']),
  );
};

export const deleteInvoice: Handler = (req, svc, [id]) => {
  checkKeys(req.params, new Set());
  const invoice = liveInvoice(svc, id!);
  requireDraft(invoice, 'delete');
  for (const line of invoice.lines.data) {
    const item = svc.state.invoiceItems.get(line.parent.invoice_item_details.invoice_item);
    if (item) svc.state.invoiceItems.put({ ...item, invoice: null });
  }
  svc.state.invoices.remove(invoice.id);
  svc.state.deletedInvoices.add(invoice.id);
  emitInvoice(req, svc, 'invoice.deleted', invoice);
  return { id: invoice.id, object: 'invoice', deleted: true };
};
