-- Correlation ids: each change carries the id of what caused it (the API request's id, the Stripe
-- event's id), so one id finds every log line and stream message of the change. The writer puts it
-- in the transaction's `rtws.correlation_id` setting (set_config(…, true), inside the statement
-- that writes, so it costs no round trip), and the outbox row takes it as a default: every
-- capture trigger and every INSERT INTO outbox gets it without naming the column. The publisher
-- carries it in the message's `Rtws-Correlation-Id` header; payloads are unchanged.
CREATE FUNCTION rtws_correlation() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('rtws.correlation_id', true), '')
$$;

ALTER TABLE outbox ADD COLUMN correlation_id text DEFAULT rtws_correlation();
