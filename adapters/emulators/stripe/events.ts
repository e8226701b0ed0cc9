/** The event object, keyed as in Stripe's fixture. */
export interface EventObject {
  readonly id: string;
  readonly object: 'event';
  api_version: string | null;
  created: number;
  data: { object: object; previous_attributes?: Record<string, unknown> };
  livemode: boolean;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
  type: string;
}

/** Who caused an event: an API request, or nothing (automatic events have a null request id). */
export interface EventCause {
  readonly requestId: string | null;
  readonly idempotencyKey: string | null;
  readonly apiVersion: string;
  readonly livemode: boolean;
}

/** Records a state change as an event (and hands it to webhook delivery). */
export type Emit = (
  cause: EventCause,
  type: string,
  object: object,
  previous?: Record<string, unknown>,
) => void;

/** `customer.*` style filters used by `GET /v1/events?type=`. */
export function typeMatcher(patterns: readonly string[]): (type: string) => boolean {
  const exact = new Set(patterns.filter((p) => !p.endsWith('.*')));
  const prefixes = patterns.filter((p) => p.endsWith('.*')).map((p) => p.slice(0, -1));
  return (type) => exact.has(type) || prefixes.some((prefix) => type.startsWith(prefix));
}
