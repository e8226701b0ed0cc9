-- Every side's value of a conflicting field when the merge decided it: Postgres's, and that of each
-- target rtws syncs (Stripe, Salesforce), so that a field edited in three places at once is shown
-- with all three values in one record.
ALTER TABLE conflicts ADD COLUMN sides jsonb;
