-- Invoices issued in a Stripe account this database was bound to before a rebind. The rebind
-- marks them with that account: they stay as history, under ids the new account does not know.
ALTER TABLE invoices ADD COLUMN former_stripe_account text;
