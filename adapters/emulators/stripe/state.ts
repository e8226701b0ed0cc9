import { newAccount } from './account-object.ts';
import type { AccountRecord } from './account-object.ts';
import type { Clock } from './clock.ts';
import { Collection } from './collection.ts';
import type { CustomerObject } from './customer-object.ts';
import type { EventObject } from './events.ts';
import type { InvoiceObject } from './invoice-object.ts';
import type { InvoiceItemObject } from './invoiceitem-object.ts';
import { SearchIndex } from './search-index.ts';
import type { SearchDoc } from './search-query.ts';
import type { WebhookEndpointRecord } from './webhook-endpoint.ts';

/** Everything the account holds. Objects are replaced, never mutated, once handed out. */
export class EmulatorState {
  readonly customers = new Collection<CustomerObject>('customer');
  readonly deletedCustomers = new Set<string>();
  readonly invoices = new Collection<InvoiceObject>('invoice');
  readonly deletedInvoices = new Set<string>();
  readonly invoiceItems = new Collection<InvoiceItemObject>('invoiceitem');
  readonly deletedInvoiceItems = new Set<string>();
  readonly events = new Collection<EventObject>('event');
  readonly endpoints = new Collection<WebhookEndpointRecord>('webhook_endpoint');
  readonly search: SearchIndex;
  /** Kept by `clear()`: an emptied account is still the same account. */
  account: AccountRecord;

  constructor(clock: Clock, searchLagMs: number) {
    this.search = new SearchIndex(clock, searchLagMs);
    this.account = newAccount(clock.nowSeconds());
  }

  putCustomer(customer: CustomerObject): void {
    this.customers.put(customer);
    this.search.upsert(customer.id, searchDoc(customer));
  }

  clear(): void {
    for (const c of [this.customers, this.invoices, this.invoiceItems, this.events, this.endpoints])
      c.clear();
    for (const s of [this.deletedCustomers, this.deletedInvoices, this.deletedInvoiceItems])
      s.clear();
    this.search.clear();
  }
}

export function searchDoc(c: CustomerObject): SearchDoc {
  return { email: c.email, name: c.name, phone: c.phone, created: c.created, metadata: c.metadata };
}
