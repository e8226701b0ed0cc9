// The Stripe account binding: the account from `GET /v1/account`, the mode from the key. A key
// Stripe refuses outright refuses the start.
import type Stripe from 'stripe';
import { ConfigError } from '../../../core/errors.ts';
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
    account: () => stripeAccount(o.stripe, o.secretKey).catch(refusedKey),
    sql: o.sql,
    log: o.log,
    ...(o.retryMs !== undefined ? { retryMs: o.retryMs } : {}),
  });
}

/**
 * Stripe refusing the key itself (401: revoked or mistyped; 403: a restricted key that cannot read
 * the account) is no outage to wait out: the binding could never be checked, so nothing would be
 * called and no webhook stored. It refuses the start, as another account does. Stripe's message
 * quotes part of the key, so only its status and type are said.
 */
function refusedKey(err: unknown): never {
  const { statusCode, type } = err as { statusCode?: unknown; type?: unknown };
  // Stripe's own answers only: a proxy's 403 in front of it is no verdict on the key.
  if (type === 'StripeAuthenticationError' || type === 'StripePermissionError')
    throw new ConfigError(
      'STRIPE_SECRET_KEY',
      `Stripe refused the key (${String(statusCode)}, ${type}): rtws needs a key that can read the account (GET /v1/account)`,
    );
  throw err;
}
