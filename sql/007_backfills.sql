-- Imports from a target, resumable: the cursor is saved after each page, so a restart resumes
-- where the last page ended. `counts` holds each decision's count.
CREATE TABLE backfills (
  id          bigserial PRIMARY KEY,
  source      text NOT NULL,
  state       text NOT NULL CHECK (state IN ('running', 'done', 'failed', 'cancelled')),
  cursor      text,
  scanned     integer NOT NULL DEFAULT 0,
  counts      jsonb NOT NULL DEFAULT '{}',
  error       text,
  started_at  timestamptz NOT NULL DEFAULT now(),
  ended_at    timestamptz
);
-- One running import per source.
CREATE UNIQUE INDEX backfills_running ON backfills (source) WHERE state = 'running';
