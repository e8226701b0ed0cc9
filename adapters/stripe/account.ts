// Which Stripe account and mode a key belongs to: the account from `GET /v1/account` (Stripe's
// account object has no livemode), the mode from the key itself.
import type Stripe from 'stripe';

export interface StripeAccount {
  readonly id: string;
  readonly livemode: boolean;
}

export function isLiveKey(secretKey: string): boolean {
  return /^(sk|rk)_live_/.test(secretKey);
}

export async function stripeAccount(stripe: Stripe, secretKey: string): Promise<StripeAccount> {
  const account = await stripe.accounts.retrieveCurrent();
  return { id: account.id, livemode: isLiveKey(secretKey) };
}
