-- The dead letters the DLQ stored, by id (`dlq:<stream>:<seq>[:<key>]`). The DLQ stream forgets an
-- id after its two-minute dedupe window, but the message a letter came from can be delivered again
-- later: a crash between a step's save and its letter or its ack, then a backlog, or every worker
-- down for longer. Its letter is then published if it is not here (never lost), and not if it is
-- (an operator may have discarded or redriven it since). Rows older than the streams' retention
-- are pruned: their messages are gone. No personal data: an id and the message's subject, which
-- guards against a sequence used again by a stream created anew.
CREATE TABLE letter_ledger (
  id          text PRIMARY KEY,
  subject     text NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX letter_ledger_recorded ON letter_ledger (recorded_at);
