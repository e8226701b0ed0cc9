// Every Stripe call an intent makes is logged with the change it serves (its correlation id) and
// Stripe's own `Request-Id`, which Stripe's support and dashboard find a request by. The SDK
// reports each response through its client's `response` event, which knows nothing of the caller.
// So each intent's calls go through a client lent to that intent alone, for as long as it runs,
// and that client's listener logs with the scope it is lent for.
//
// Not AsyncLocalStorage, which would carry the scope along the SDK's promise chain as well: on
// Node 20 it sets a hook on every promise the process makes, intents or not: in an import's
// profile, about 5% of the worker's busy samples and of what it allocated (docs/benchmarks.md).
import type Stripe from 'stripe';
import type { Logger } from '../../core/ports.ts';

/** What a call is for: log fields, ids only (never a customer's data). */
export interface CallScope {
  readonly correlation_id?: string;
  readonly customer_id?: string;
  readonly invoice_id?: string;
  readonly intent_id?: string;
}

/** Stripe clients lent one work at a time, whose calls are logged with that work's scope. */
export interface ScopedStripe {
  /**
   * Runs `work` with a client of its own: every response the client gets until `work` settles is
   * logged with `scope`, and so is the answer to any call `work` leaves running.
   */
  run<T>(scope: CallScope, work: (stripe: Stripe) => Promise<T>): Promise<T>;
}

interface Lent {
  readonly stripe: Stripe;
  scope: CallScope | undefined;
  /** Requests sent and not yet answered. */
  inFlight: number;
}

/**
 * `make` builds a client; the clients should share one keep-alive agent, so that lending another
 * client costs no connection. As many are made as works run at once, and one more for each left
 * with a call. Without `log` nothing is logged, and one client serves every work.
 */
export function scopedStripe(make: () => Stripe, log?: Logger): ScopedStripe {
  if (!log) {
    const stripe = make();
    return { run: (_scope, work) => work(stripe) };
  }
  const idle: Lent[] = [];
  const lend = (): Lent => {
    const spare = idle.pop();
    if (spare) return spare;
    const lent: Lent = { stripe: make(), scope: undefined, inFlight: 0 };
    logResponses(lent, log);
    return lent;
  };
  return {
    async run(scope, work) {
      const lent = lend();
      lent.scope = scope;
      try {
        return await work(lent.stripe);
      } finally {
        // A call the work left running (or one that timed out, which gets no response) keeps the
        // client: its answer, if it comes, is logged with this scope, and the client is not lent
        // again.
        if (lent.inFlight === 0) {
          lent.scope = undefined;
          idle.push(lent);
        }
      }
    },
  };
}

/**
 * Logs every response `stripe` gets, with no scope: for the client whose calls serve no one intent
 * (the account check, catch-up, imports, reconciliation, an invoice's lines read when its event
 * does not carry them all). The path tells those apart. Returns it.
 */
export function logStripeCalls(stripe: Stripe, log: Logger): Stripe {
  logResponses({ stripe, scope: undefined, inFlight: 0 }, log);
  return stripe;
}

interface ResponseEmitter {
  on(event: 'request', listener: () => void): void;
  on(event: 'response', listener: (e: Stripe.ResponseEvent) => void): void;
}

/**
 * Logs each response: the request's method, path (without its query, which may hold an email of
 * a search), status, time and Stripe's `Request-Id`. A call that got no response (a timeout, a
 * refused connection) has no line here: its caller reports the failure (an intent's outcome, a
 * catch-up's or a backfill's warning).
 */
function logResponses(lent: Lent, log: Logger): void {
  // The SDK types `on` as `any`; these are its documented signatures.
  const emitter = lent.stripe as unknown as ResponseEmitter;
  emitter.on('request', () => void lent.inFlight++);
  emitter.on('response', (e) => {
    lent.inFlight--;
    log.info(
      {
        ...lent.scope,
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
