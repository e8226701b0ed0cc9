import type { Metadata } from './metadata.ts';

/** An invoice item as the current API renders it. */
export interface InvoiceItemObject {
  amount: number;
  currency: string;
  customer: string;
  date: number;
  description: string | null;
  discountable: boolean;
  discounts: never[];
  readonly id: string;
  invoice: string | null;
  livemode: boolean;
  metadata: Metadata;
  readonly object: 'invoiceitem';
  period: { end: number; start: number };
  proration: boolean;
  quantity: number;
  tax_rates: never[];
  test_clock: null;
  parent: null;
  pricing: { type: 'price_details'; unit_amount_decimal: string | null };
  net_amount: number;
  customer_account: null;
  quantity_decimal: string;
}
