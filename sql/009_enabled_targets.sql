-- The targets this database has been synced to, and since when: a start that configures a target
-- missing here has just switched it on, and starts an export to it (RTWS_AUTO_EXPORT).
CREATE TABLE enabled_targets (
  target      text PRIMARY KEY,
  enabled_at  timestamptz NOT NULL DEFAULT now()
);
