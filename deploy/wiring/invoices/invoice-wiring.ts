// The invoice actors' ports on a worker: link lookups and progress in Postgres, and Stripe through
// the same client settings (pinned version, no SDK retries, the call timeout) as the customer calls.
import type { Sql } from '../../../adapters/postgres/connect.ts';
import { linkOrGone } from '../../../adapters/postgres/links.ts';
import { invoiceProgressEffects } from '../../../adapters/postgres/invoice-progress.ts';
import { stripeClients } from '../../../adapters/stripe/client.ts';
import { scopedStripe } from '../../../adapters/stripe/call-log.ts';
import type { Logger } from '../../../core/ports.ts';
import { invoiceExecutors } from './invoice-executors.ts';
import type { InvoiceWorkerOptions } from './invoice-runtime.ts';

export function invoiceWorkerOptions(
  sql: Sql,
  stripe: { secretKey: string; apiBase?: string | undefined; timeoutMs: number } | undefined,
  log?: Logger,
): InvoiceWorkerOptions {
  // Each Stripe call is logged with the invoice, the request it serves and Stripe's Request-Id.
  const client = stripe ? scopedStripe(stripeClients(stripe), log) : undefined;
  return {
    executors: invoiceExecutors({
      ...(client ? { stripe: client } : {}),
      stripeLinkOf: (customerId) => linkOrGone(sql, customerId, 'stripe'),
    }),
    effects: invoiceProgressEffects(sql),
  };
}
