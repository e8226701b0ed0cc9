// The Stripe account binding: the account from `GET /v1/account`, the mode from the key.
import type Stripe from 'stripe';
import type { Logger } from '../../../core/ports.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import { stripeAccount } from '../../../adapters/stripe/account.ts';
import { checkTargetBinding, type TargetBinding } from './target-binding.ts';

export type StripeBinding = TargetBinding;

export interface StripeBindingOptions {
  readonly stripe: Stripe;
  readonly secretKey: string;
  readonly sql: Sql;
  readonly log: Logger;
  /** Between checks while Stripe cannot be reached (default 5 s). */
  readonly retryMs?: number;
}

export function checkStripeBinding(o: StripeBindingOptions): Promise<StripeBinding> {
  return checkTargetBinding({
    target: 'stripe',
    credentials: 'key',
    account: () => stripeAccount(o.stripe, o.secretKey),
    sql: o.sql,
    log: o.log,
    ...(o.retryMs !== undefined ? { retryMs: o.retryMs } : {}),
  });
}
