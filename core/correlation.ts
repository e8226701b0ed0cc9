// Correlation ids: each change carries the id of what caused it, so one id finds every log line and
// stream message of the change. It starts as the API request's id (a client may send its own
// `X-Request-Id`), or the Stripe event's id for a change from Stripe; it travels through the outbox
// row, the JetStream header below, the actor's intents and the outcomes recorded back.

/** The JetStream header that carries it; message payloads stay as they are. */
export const CORRELATION_HEADER = 'Rtws-Correlation-Id';

/** The HTTP header a client may send, and the API answers with. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** The log field every line about a change carries it in. */
export const CORRELATION_LOG_KEY = 'correlation_id';

/**
 * A client's id is taken only when it is a plain token: it lands in logs, headers and the
 * database, so nothing that could forge a log line or a header, and nothing long.
 */
const SANE = /^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$/;

export function isSaneCorrelationId(value: unknown): value is string {
  return typeof value === 'string' && SANE.test(value);
}
