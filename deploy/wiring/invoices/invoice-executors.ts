// The executors of the invoice actor's intents: `links` reads the customer's Stripe link from our
// link table (the invoice actor never creates a Stripe customer: it waits for the customer actor
// to link one), and `stripe` issues the invoice with the official client.
import type {
  InvoiceIntent,
  InvoiceRecordedEvent,
  InvoiceTarget,
} from '../../../actors/invoice/index.ts';
import { executeInvoiceIntent } from '../../../adapters/stripe/invoice-executor.ts';
import type { ScopedStripe } from '../../../adapters/stripe/call-log.ts';
import type { InvoiceExecutor } from './invoice-runtime.ts';
import { correlatedExecutor, type ScopedExecutor } from '../worker/correlated-executor.ts';

export interface InvoiceExecutorSettings {
  /** The Stripe clients, when Stripe is configured: each intent's calls logged with its scope. */
  readonly stripe?: ScopedStripe;
  /** The customer's Stripe customer, or whether it will never have one (deleted or erased). */
  readonly stripeLinkOf: (
    customerId: string,
  ) => Promise<{ externalId: string } | { gone: boolean }>;
  readonly now?: () => number;
}

export function invoiceExecutors(
  s: InvoiceExecutorSettings,
): Partial<Record<InvoiceTarget, InvoiceExecutor>> {
  const now = s.now ?? Date.now;
  // Each outcome is recorded with the correlation id of the request its intent serves.
  const correlated = (
    target: InvoiceTarget,
    executor: ScopedExecutor<InvoiceIntent, InvoiceRecordedEvent>,
  ) => correlatedExecutor(target, executor, { actor: 'invoice_id' });
  const out: Partial<Record<InvoiceTarget, InvoiceExecutor>> = {
    links: correlated('links', {
      limits: { concurrency: 8 },
      execute: (_id, intent) => findLink(s, intent, now),
    }),
  };
  const stripe = s.stripe;
  if (stripe) {
    out.stripe = correlated('stripe', {
      // The worker hands the invoice scheduler the customer scheduler's Stripe gate, so these
      // limits apply only where the customer target has none.
      limits: { concurrency: 8 },
      execute: (_id, intent, _call, scope) =>
        intent.target === 'stripe'
          ? stripe.run(scope, (client) => executeInvoiceIntent(client, intent, now))
          : Promise.resolve(misrouted(intent, now)),
    });
  }
  return out;
}

async function findLink(
  s: InvoiceExecutorSettings,
  intent: InvoiceIntent,
  now: () => number,
): Promise<InvoiceRecordedEvent> {
  if (intent.type !== 'FindStripeLink') return misrouted(intent, now);
  try {
    const link = await s.stripeLinkOf(intent.params.customerId);
    if ('externalId' in link)
      return {
        type: 'StripeLinkFound',
        data: { intentId: intent.id, stripeCustomerId: link.externalId },
        at: now(),
      };
    // Deleted (or erased) before its create reached Stripe: no link will ever come to wait for.
    if (link.gone)
      return {
        type: 'InvoiceCallFailed',
        data: {
          intentId: intent.id,
          failure: 'permanent',
          reason:
            'the customer was deleted before it was linked to Stripe: the invoice cannot be issued',
          attempt: intent.attempt,
        },
        at: now(),
      };
    return {
      type: 'StripeLinkMissing',
      data: { intentId: intent.id, attempt: intent.attempt },
      at: now(),
    };
  } catch (err) {
    return {
      type: 'InvoiceCallFailed',
      data: {
        intentId: intent.id,
        failure: 'transient',
        reason: `link lookup: ${err instanceof Error ? err.message : String(err)}`.slice(0, 500),
        attempt: intent.attempt,
      },
      at: now(),
    };
  }
}

function misrouted(intent: InvoiceIntent, now: () => number): InvoiceRecordedEvent {
  return {
    type: 'InvoiceCallFailed',
    data: {
      intentId: intent.id,
      failure: 'permanent',
      reason: `${intent.type} sent to the wrong executor`,
      attempt: intent.attempt,
    },
    at: now(),
  };
}
