// Every Stripe call is logged with the change it serves (its correlation id) and Stripe's own
// `Request-Id`, which Stripe's support and dashboard find a request by. The SDK reports each
// response through its `response` event; which change the call serves is known only to the caller,
// so the caller runs the call inside a scope the event's listener reads (AsyncLocalStorage follows
// the SDK's promise chain from the call to its response).
import { AsyncLocalStorage } from 'node:async_hooks';
import type Stripe from 'stripe';
import type { Logger } from '../../core/ports.ts';

/** What a call is for: log fields, ids only (never a customer's data). */
export interface CallScope {
  readonly correlation_id?: string;
  readonly customer_id?: string;
  readonly invoice_id?: string;
  readonly intent_id?: string;
}

const scopes = new AsyncLocalStorage<CallScope>();

interface ResponseEmitter {
  on(event: 'response', listener: (e: Stripe.ResponseEvent) => void): void;
}

/** Runs `work` with `scope` on the log lines of the Stripe calls it makes. */
export function inCallScope<T>(scope: CallScope, work: () => Promise<T>): Promise<T> {
  return scopes.run(scope, work);
}

/**
 * Logs each response: the request's method, path (without its query, which may hold an email of
 * a search), status, time and Stripe's `Request-Id`. A call that got no response (a timeout, a
 * refused connection) is reported by its outcome instead.
 */
export function logStripeCalls(stripe: Stripe, log: Logger): void {
  // The SDK types `on` as `any`; this is its documented signature for responses.
  const emitter = stripe as unknown as ResponseEmitter;
  emitter.on('response', (e) => {
    log.info(
      {
        ...scopes.getStore(),
        stripe_request_id: e.request_id,
        method: e.method,
        path: e.path.split('?')[0],
        status: e.status,
        elapsed_ms: e.elapsed,
      },
      'stripe call',
    );
  });
}
