// Which failures mean that NATS or Postgres is unavailable (down, restarting, electing a leader,
// out of connections) rather than that the work itself is wrong. Retrying the same work later
// succeeds, so such a failure is retried until it does, and never sends a message to the DLQ.
import { UnavailableError } from './errors.ts';

/** Postgres.js's own codes for a connection that failed or went away. */
const POSTGRES_CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECT_TIMEOUT',
  'CONNECTION_DESTROYED',
]);

/** SQLSTATE classes: 08 connection exception, 57P0x shutdown or not yet accepting, 53 resources. */
const POSTGRES_UNAVAILABLE_STATE = /^(08|57P0|53)/;

/** nats.js errors of a connection or a JetStream that cannot answer now. */
const NATS_UNAVAILABLE = new Set([
  'ClosedConnectionError',
  'DrainingConnectionError',
  'ConnectionError',
  'NoRespondersError',
  'TimeoutError',
  'RequestError',
  'JetStreamNotEnabled',
]);

/** JetStream API error codes of a stream or cluster that is electing a leader or has none. */
const JETSTREAM_UNAVAILABLE_API_CODES = new Set([
  10008, // JetStream system temporarily unavailable
  10039, // JetStream not enabled for account (seen while a cluster elects its meta leader)
]);

export function isInfrastructureFault(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (typeof e !== 'object') return false;
    if (e instanceof UnavailableError) return true;
    const { name, code, status } = e as { name?: unknown; code?: unknown; status?: unknown };
    if (typeof name === 'string' && NATS_UNAVAILABLE.has(name)) return true;
    if (name === 'JetStreamApiError' || name === 'JetStreamStatusError') {
      if (status === 503 || code === 503 || code === 408) return true;
      if (typeof code === 'number' && JETSTREAM_UNAVAILABLE_API_CODES.has(code)) return true;
    }
    if (typeof code === 'string')
      if (POSTGRES_CONNECTION_CODES.has(code) || POSTGRES_UNAVAILABLE_STATE.test(code)) return true;
  }
  return false;
}
