-- Targets an operator paused (POST /targets/:name/pause): while a row is here, every worker holds
-- the target's intents back, and they wait, shown as waiting. Resuming deletes the row.
CREATE TABLE target_pauses (
  target     text PRIMARY KEY,
  paused_at  timestamptz NOT NULL DEFAULT now(),
  -- The name of the token that paused it (never the token).
  paused_by  text NOT NULL,
  reason     text
);
