import type { Address, CustomerObject, Shipping, TaxExempt } from './customer-object.ts';
import type { Metadata } from './metadata.ts';

export type InvoiceStatus = 'draft' | 'open' | 'paid' | 'uncollectible' | 'void';
export type CollectionMethod = 'charge_automatically' | 'send_invoice';

/** An invoice line as rendered inside `invoice.lines` (one per attached invoice item). */
export interface LineItemObject {
  amount: number;
  currency: string;
  description: string | null;
  discount_amounts: never[];
  discountable: boolean;
  discounts: never[];
  id: string;
  invoice: string;
  livemode: boolean;
  metadata: Metadata;
  object: 'line_item';
  period: { end: number; start: number };
  quantity: number;
  subscription: null;
  pretax_credit_amounts: never[];
  taxes: never[];
  parent: {
    invoice_item_details: {
      invoice_item: string;
      proration: boolean;
      proration_details: { credited_items: null };
      subscription: null;
    };
    subscription_item_details: null;
    type: 'invoice_item_details';
  };
  pricing: { type: 'price_details'; price_details?: never; unit_amount_decimal: string | null };
  subtotal: number;
  quantity_decimal: string;
}

export interface StatusTransitions {
  finalized_at: number | null;
  marked_uncollectible_at: number | null;
  paid_at: number | null;
  voided_at: number | null;
}

/** The fields of an invoice the emulator computes or changes; the rest are rendered constants. */
export interface InvoiceObject {
  readonly id: string;
  readonly object: 'invoice';
  amount_due: number;
  amount_paid: number;
  amount_remaining: number;
  attempt_count: number;
  attempted: boolean;
  auto_advance: boolean;
  automatically_finalizes_at: number | null;
  collection_method: CollectionMethod;
  created: number;
  currency: string;
  customer: string;
  customer_address: Address | null;
  customer_email: string | null;
  customer_name: string | null;
  customer_phone: string | null;
  customer_shipping: Shipping | null;
  customer_tax_exempt: TaxExempt;
  description: string | null;
  due_date: number | null;
  effective_at: number | null;
  ending_balance: number | null;
  footer: string | null;
  hosted_invoice_url: string | null;
  invoice_pdf: string | null;
  lines: { object: 'list'; data: LineItemObject[]; has_more: boolean; url: string };
  livemode: boolean;
  metadata: Metadata;
  next_payment_attempt: number | null;
  number: string | null;
  period_end: number;
  period_start: number;
  status: InvoiceStatus;
  status_transitions: StatusTransitions;
  subtotal: number;
  subtotal_excluding_tax: number;
  total: number;
  total_excluding_tax: number;
  webhooks_delivered_at: number | null;
  [constant: string]: unknown;
}

export interface NewInvoice {
  id: string;
  created: number;
  livemode: boolean;
  customer: CustomerObject;
  currency: string;
  collectionMethod: CollectionMethod;
  autoAdvance: boolean;
  /** Already resolved from `days_until_due` or `due_date`; null for charge_automatically. */
  dueDate: number | null;
  description: string | null;
  footer: string | null;
  metadata: Metadata;
}

/** A fresh draft with every key of the current invoice shape; totals come from `withLines`. */
export function draftInvoice(n: NewInvoice): InvoiceObject {
  const c = n.customer;
  return {
    id: n.id,
    object: 'invoice',
    account_country: 'US',
    account_name: 'Stripe Emulator',
    account_tax_ids: null,
    amount_due: 0,
    amount_overpaid: 0,
    amount_paid: 0,
    amount_remaining: 0,
    amount_shipping: 0,
    application: null,
    attempt_count: 0,
    attempted: false,
    auto_advance: n.autoAdvance,
    automatic_tax: {
      disabled_reason: null,
      enabled: false,
      liability: null,
      provider: null,
      status: null,
    },
    automatically_finalizes_at: n.autoAdvance ? n.created + 3600 : null,
    billing_reason: 'manual',
    collection_method: n.collectionMethod,
    created: n.created,
    currency: n.currency,
    custom_fields: null,
    customer: c.id,
    customer_account: null,
    customer_address: c.address,
    customer_email: c.email,
    customer_name: c.name,
    customer_phone: c.phone,
    customer_shipping: c.shipping,
    customer_tax_exempt: c.tax_exempt,
    customer_tax_ids: [],
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: n.description,
    discounts: [],
    due_date: n.dueDate,
    effective_at: null,
    ending_balance: null,
    footer: n.footer,
    from_invoice: null,
    hosted_invoice_url: null,
    invoice_pdf: null,
    issuer: { type: 'self' },
    last_finalization_error: null,
    latest_revision: null,
    lines: { object: 'list', data: [], has_more: false, url: `/v1/invoices/${n.id}/lines` },
    livemode: n.livemode,
    metadata: n.metadata,
    next_payment_attempt: n.collectionMethod === 'charge_automatically' ? n.created + 3600 : null,
    number: null,
    on_behalf_of: null,
    parent: null,
    payment_settings: {
      default_mandate: null,
      payment_method_options: null,
      payment_method_types: null,
    },
    period_end: n.created,
    period_start: n.created,
    post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0,
    receipt_number: null,
    rendering: {
      amount_tax_display: null,
      pdf: { page_size: 'auto' },
      template: null,
      template_version: null,
    },
    shipping_cost: null,
    shipping_details: null,
    starting_balance: 0,
    statement_descriptor: null,
    status: 'draft',
    status_transitions: {
      finalized_at: null,
      marked_uncollectible_at: null,
      paid_at: null,
      voided_at: null,
    },
    subscription: null,
    subtotal: 0,
    subtotal_excluding_tax: 0,
    test_clock: null,
    total: 0,
    total_discount_amounts: [],
    total_excluding_tax: 0,
    total_pretax_credit_amounts: [],
    total_taxes: [],
    webhooks_delivered_at: null,
  };
}
