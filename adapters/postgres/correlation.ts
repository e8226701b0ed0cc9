// Hands a change's correlation id to the outbox: the row takes `rtws.correlation_id` as its default
// (sql/022_correlation.sql). Set inside the statement that writes (in its FROM or select list), so
// it costs no statement of its own; local to the transaction, so it never leaks to the next one on
// the pooled connection.
import type { Tx } from './connect.ts';

/** `set_config(…)` as an expression; an absent id sets the empty string, which reads as none. */
export function setCorrelation(tx: Tx, correlationId: string | undefined) {
  return tx`set_config('rtws.correlation_id', ${correlationId ?? ''}, true)`;
}
