-- Voids asked for through the API (POST /invoices/:id/void). The ask is recorded on the invoice
-- (its status moves only once Stripe, or the invoice actor, says it is void) and published to the
-- invoice actor through the outbox, as aggregate 'invoice_void', once per invoice. An
-- `invoice.deleted` of a draft whose void was asked for is that void completing, not a failure.
ALTER TABLE invoices ADD COLUMN void_requested_at timestamptz;
