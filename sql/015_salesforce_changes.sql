-- Changes read back from Salesforce are merged like Stripe's: a conflict it wins names it.
ALTER TABLE conflicts DROP CONSTRAINT conflicts_winner_check;
ALTER TABLE conflicts
  ADD CONSTRAINT conflicts_winner_check CHECK (winner IN ('stripe', 'salesforce', 'postgres'));
