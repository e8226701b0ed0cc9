-- What catch-up compares to tell a silent webhook endpoint, shared by every process: the api role
-- receives webhooks, the worker role lists events. One row per source, written at most every few
-- seconds per process, so a burst of webhooks costs a handful of updates.
CREATE TABLE webhook_health (
  source              text PRIMARY KEY,
  -- When a verified webhook was last received (Postgres's clock, the one all processes share).
  last_webhook_at     timestamptz,
  -- The `created` of the newest event catch-up listed that a webhook should have brought by then.
  newest_event_at     timestamptz,
  -- Since when this is tracked: the reference while no webhook has ever been received.
  tracked_since       timestamptz NOT NULL DEFAULT now(),
  -- Set when catch-up found its watermark older than Stripe keeps events: the watermark then, and
  -- when it was found. Cleared by a full reconciliation, the only repair for what was lost.
  gap_watermark       bigint,
  gap_found_at        timestamptz
);
