-- Dead letters an operator discarded (POST /dlq/:id/discard): the letter leaves the DLQ stream, and
-- this row says which it was, why, and who decided. The letter's payload is not kept: it may hold
-- personal data, and the stream it came from still has the original until its retention ends.
CREATE TABLE dlq_discards (
  id            bigserial PRIMARY KEY,
  -- The DLQ stream sequence the letter had (its id in GET /dlq).
  letter_id     bigint NOT NULL,
  source        text NOT NULL,
  subject       text NOT NULL,
  -- Why the letter was dead-lettered, as the DLQ said.
  letter_reason text NOT NULL,
  -- Why the operator discarded it.
  reason        text NOT NULL,
  -- The name of the token that discarded it (never the token).
  discarded_by  text NOT NULL,
  discarded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dlq_discards_letter ON dlq_discards (letter_id);
