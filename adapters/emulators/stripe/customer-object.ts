import type { Metadata } from './metadata.ts';

export interface Address {
  city: string | null;
  country: string | null;
  line1: string | null;
  line2: string | null;
  postal_code: string | null;
  state: string | null;
}

export interface Shipping {
  address: Address;
  name: string;
  phone: string | null;
}

export interface InvoiceSettings {
  custom_fields: null;
  default_payment_method: string | null;
  footer: string | null;
  rendering_options: null;
}

export type TaxExempt = 'none' | 'exempt' | 'reverse';

/** A customer as the current API renders it (keys as in Stripe's fixture, id and object first). */
export interface CustomerObject {
  readonly id: string;
  readonly object: 'customer';
  address: Address | null;
  balance: number;
  created: number;
  currency: string | null;
  default_source: null;
  delinquent: boolean;
  description: string | null;
  discount: null;
  email: string | null;
  invoice_prefix: string;
  invoice_settings: InvoiceSettings;
  livemode: boolean;
  metadata: Metadata;
  name: string | null;
  next_invoice_sequence: number;
  phone: string | null;
  preferred_locales: string[];
  shipping: Shipping | null;
  tax_exempt: TaxExempt;
  test_clock: null;
}

/** What Stripe answers for a deleted object, on delete and on every later retrieve. */
export interface DeletedObject {
  id: string;
  object: string;
  deleted: true;
}

export function deletedShape(id: string, object: string): DeletedObject {
  return { id, object, deleted: true };
}

export function blankCustomer(
  id: string,
  created: number,
  livemode: boolean,
  invoicePrefix: string,
): CustomerObject {
  return {
    id,
    object: 'customer',
    address: null,
    balance: 0,
    created,
    currency: null,
    default_source: null,
    delinquent: false,
    description: null,
    discount: null,
    email: null,
    invoice_prefix: invoicePrefix,
    invoice_settings: {
      custom_fields: null,
      default_payment_method: null,
      footer: null,
      rendering_options: null,
    },
    livemode,
    metadata: {},
    name: null,
    next_invoice_sequence: 1,
    phone: null,
    preferred_locales: [],
    shipping: null,
    tax_exempt: 'none',
    test_clock: null,
  };
}
