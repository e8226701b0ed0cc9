-- A rebind moves the binding and archives the links in one transaction, then resets the actors
-- (their snapshots in NATS). Until that is done, the binding says so: a start refuses to run
-- with actors that still hold the old account's ids, and the rebind, run again, finishes it.
ALTER TABLE target_bindings ADD COLUMN actors_reset_pending boolean NOT NULL DEFAULT false;
