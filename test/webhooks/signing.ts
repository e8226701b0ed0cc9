// Signed Stripe-shaped payloads and a recording logger: no IO, shared by the unit and int suites.
import Stripe from 'stripe';
import type { Logger } from '../../core/ports.ts';
import { STRIPE_API_VERSION } from '../../adapters/stripe/client.ts';

export const SECRET = 'whsec_webhooks_suite_primary_0123456789';
export const ROTATED_SECRET = 'whsec_webhooks_suite_rotated_0123456789';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: object;
  msg: string | undefined;
}

/**
 * A logger that keeps every line, so tests can look at what was (and was not) logged; a child's
 * lines carry its bindings, as pino's do.
 */
export function recordingLogger(
  lines: LogLine[] = [],
  bindings: object = {},
): Logger & { lines: LogLine[] } {
  const at = (level: LogLine['level']) => (obj: object, msg?: string) =>
    void lines.push({ level, obj: { ...bindings, ...obj }, msg });
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => recordingLogger(lines, { ...bindings, ...more }),
  };
}

let seq = 0;

/** A Stripe-shaped event; `overrides` replace top-level fields. */
export function eventBody(overrides: Record<string, unknown> = {}): string {
  seq += 1;
  const event = {
    id: `evt_suite${Date.now()}${seq}`,
    object: 'event',
    api_version: STRIPE_API_VERSION,
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type: 'customer.updated',
    data: {
      object: { id: `cus_suite${seq}`, object: 'customer', name: 'Ada', email: 'ada@example.com' },
    },
    ...overrides,
  };
  return JSON.stringify(event, null, 2);
}

export function sign(payload: string, secret = SECRET, timestamp?: number): string {
  return Stripe.webhooks.generateTestHeaderString({
    payload,
    secret,
    ...(timestamp === undefined ? {} : { timestamp }),
  });
}
