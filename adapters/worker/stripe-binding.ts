// The Stripe account binding, checked at start: the first start binds the database to the key's
// account and mode; a start with another one refuses to run (AccountMismatchError, exit 2). While
// Stripe cannot be reached to say which account the key is, the Stripe target stays paused and
// the check is retried; the API and the other targets run meanwhile.
import type Stripe from 'stripe';
import { AccountMismatchError } from '../../core/errors.ts';
import type { Logger } from '../../core/ports.ts';
import type { Sql } from '../postgres/connect.ts';
import { bindOnce } from '../postgres/bindings.ts';
import { stripeAccount } from '../stripe/account.ts';

export interface StripeBinding {
  /** Whether calls may go to Stripe: the key's account is the one this database is bound to. */
  readonly bound: boolean;
  stop(): void;
}

export interface StripeBindingOptions {
  readonly stripe: Stripe;
  readonly secretKey: string;
  readonly sql: Sql;
  readonly log: Logger;
  /** Between checks while Stripe cannot be reached (default 5 s). */
  readonly retryMs?: number;
}

/** Resolves once the first check has an answer or failed to get one; rejects on a mismatch. */
export async function checkStripeBinding(o: StripeBindingOptions): Promise<StripeBinding> {
  const log = o.log.child({ component: 'stripe-binding' });
  let bound = false;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const check = async () => {
    const account = await stripeAccount(o.stripe, o.secretKey);
    const binding = await bindOnce(o.sql, {
      target: 'stripe',
      accountId: account.id,
      livemode: account.livemode,
    });
    if (binding.accountId !== account.id || binding.livemode !== account.livemode)
      throw new AccountMismatchError(
        'stripe',
        { id: binding.accountId, livemode: binding.livemode },
        account,
      );
    bound = true;
    log.info({ account: account.id, livemode: account.livemode }, 'Stripe account verified');
  };
  const retry = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      check().catch((err: unknown) => {
        if (err instanceof AccountMismatchError) {
          // Too late to refuse to start: the target stays paused for good, and says why.
          log.error(
            { reason: err.message },
            'Stripe account mismatch; the Stripe target stays paused',
          );
          return;
        }
        log.warn(
          { reason: String(err) },
          'Stripe account not verified yet; the Stripe target waits',
        );
        retry();
      });
    }, o.retryMs ?? 5_000);
    timer.unref();
  };
  try {
    await check();
  } catch (err) {
    if (err instanceof AccountMismatchError) throw err;
    log.warn(
      { reason: String(err) },
      'Stripe cannot say which account the key belongs to; the Stripe target waits and retries',
    );
    retry();
  }
  return {
    get bound() {
      return bound;
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
