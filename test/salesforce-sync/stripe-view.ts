// Stripe as an operator sees it, through the official SDK pointed at the emulator.
import Stripe from 'stripe';
import type { StripeEmulator } from '../../adapters/emulators/stripe/index.ts';

/** The live Stripe customers carrying an rtws id, grouped by it (more than one is a duplicate). */
export async function stripeCustomersByRtwsId(
  emulator: StripeEmulator,
): Promise<Map<string, Stripe.Customer[]>> {
  const base = new URL(emulator.url);
  const stripe = new Stripe('sk_test_x', {
    host: base.hostname,
    port: Number(base.port),
    protocol: 'http',
    maxNetworkRetries: 0,
  });
  const out = new Map<string, Stripe.Customer[]>();
  for await (const c of stripe.customers.list({ limit: 100 })) {
    const id = c.metadata.rtws_id;
    if (id) out.set(id, [...(out.get(id) ?? []), c]);
  }
  return out;
}
