-- Invoices: requested through the API (and issued in Stripe by the invoice actor) or created in
-- Stripe directly; their items; the history of their status; and the capture of a request.

CREATE TABLE invoices (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  customer_id         uuid NOT NULL REFERENCES customers (id),
  status              text NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'draft', 'open', 'paid', 'void', 'uncollectible', 'failed')),
  currency            text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
  due_days            integer NOT NULL CHECK (due_days >= 0),
  metadata            jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object'),
  -- Minor units; the sum of the items' amount × quantity.
  total               bigint NOT NULL CHECK (total >= 0),
  stripe_invoice_id   text UNIQUE,
  number              text,
  hosted_invoice_url  text,
  -- 'api': requested through rtws, which issues it; 'stripe': created in Stripe, only recorded.
  origin              text NOT NULL DEFAULT 'api' CHECK (origin IN ('api', 'stripe')),
  last_error          text,
  version             bigint NOT NULL DEFAULT 1,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX invoices_customer_page ON invoices (customer_id, created_at, id);

CREATE TABLE invoice_items (
  invoice_id   uuid NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
  position     integer NOT NULL CHECK (position >= 0),
  description  text NOT NULL,
  -- The unit price, in the currency's minor unit.
  amount       bigint NOT NULL,
  quantity     integer NOT NULL CHECK (quantity >= 1),
  PRIMARY KEY (invoice_id, position)
);

CREATE TABLE invoice_history (
  id               bigserial PRIMARY KEY,
  invoice_id       uuid NOT NULL REFERENCES invoices (id),
  status           text NOT NULL,
  origin           text NOT NULL CHECK (origin IN ('api', 'stripe', 'rtws')),
  note             text,
  stripe_event_id  text,
  at               timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX invoice_history_invoice ON invoice_history (invoice_id, id);
-- A redelivered Stripe event is a no-op: it cannot be recorded twice.
CREATE UNIQUE INDEX invoice_history_event ON invoice_history (invoice_id, stripe_event_id)
  WHERE stripe_event_id IS NOT NULL;

-- The whole request, items included, captured into the outbox. Items are inserted after their
-- invoice in the same transaction, so the capture is deferred to the commit, where it sees them
-- all; it also refuses a request whose items do not add up to its total.
CREATE FUNCTION invoices_capture() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  items_ jsonb;
  sum_ bigint;
BEGIN
  SELECT jsonb_agg(jsonb_build_object('description', description, 'amount', amount,
                                      'quantity', quantity) ORDER BY position),
         sum(amount * quantity)
    INTO items_, sum_
    FROM invoice_items WHERE invoice_id = NEW.id;
  IF items_ IS NULL OR sum_ <> NEW.total THEN
    RAISE EXCEPTION 'invoice % has no items or its items do not add up to its total', NEW.id
      USING ERRCODE = 'check_violation';
  END IF;
  INSERT INTO outbox (id, aggregate, aggregate_id, customer_id, op, version, origin, payload, occurred_at)
  VALUES (nextval('outbox_id_seq'), 'invoice', NEW.id, NEW.customer_id, 'created', NEW.version,
          NEW.origin,
          jsonb_build_object('customer_id', NEW.customer_id, 'currency', NEW.currency,
                             'due_days', NEW.due_days, 'metadata', NEW.metadata,
                             'total', NEW.total, 'items', items_),
          clock_timestamp());
  PERFORM rtws_wake_publisher();
  RETURN NULL;
END
$$;

-- Invoices recorded from Stripe are already issued: rtws never issues them again.
CREATE CONSTRAINT TRIGGER invoices_capture AFTER INSERT ON invoices
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW WHEN (NEW.origin = 'api') EXECUTE FUNCTION invoices_capture();
