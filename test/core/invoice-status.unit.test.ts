// The invoice lifecycle: statuses only move forward, so late and repeated Stripe events never
// reopen an invoice; a failed one may still be issued after a redrive.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { advances, INVOICE_STATUSES, type InvoiceStatus } from '../../core/invoice-status.ts';

const allowed: Record<InvoiceStatus, InvoiceStatus[]> = {
  pending: ['draft', 'open', 'paid', 'void', 'uncollectible', 'failed'],
  draft: ['open', 'paid', 'void', 'uncollectible', 'failed'],
  open: ['paid', 'void', 'uncollectible'],
  uncollectible: ['paid', 'void'],
  paid: [],
  void: [],
  failed: ['draft', 'open', 'paid', 'void', 'uncollectible'],
};

test('every move is allowed exactly when the lifecycle allows it', () => {
  for (const from of INVOICE_STATUSES)
    for (const to of INVOICE_STATUSES)
      assert.is(advances(from, to), allowed[from].includes(to), `${from} → ${to}`);
});

test('a paid invoice never goes back, whatever arrives late', () => {
  for (const to of INVOICE_STATUSES) assert.not.ok(advances('paid', to), to);
});

test.run();
