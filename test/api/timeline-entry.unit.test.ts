// A customer's stream messages as timeline entries: each kind, origin and summary, and no field
// value in a summary, whatever the message carries.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { changeEntry, stripeEventEntry } from '../../deploy/wiring/api/timeline-entry.ts';

const test = suite('timeline entries');

const at = Date.parse('2026-12-04T07:00:00Z');
const recorded = (message: unknown, seq = 7) => ({
  seq,
  subject: 'changes.customer.p01.c1',
  message,
  at,
});
const entry = (message: unknown) => changeEntry('CHANGES', recorded(message));

test('facts name their version, origin and changed fields, never their values', () => {
  const e = entry({
    type: 'CustomerUpdated',
    data: { name: 'Ada Lovelace', email: 'ada@example.com' },
    metadata: { version: 3, origin: 'api', changed: ['name', 'email'] },
  });
  assert.equal(e, {
    at: '2026-12-04T07:00:00.000Z',
    kind: 'fact',
    origin: 'api',
    type: 'CustomerUpdated',
    summary: 'updated v3 (name, email)',
    stream: 'CHANGES',
    seq: 7,
    subject: 'changes.customer.p01.c1',
  });
});

test("a change made by the actor's write names the write it reports", () => {
  const e = entry({
    type: 'CustomerUpdated',
    data: { name: 'Ada Lovelace' },
    metadata: {
      version: 4,
      origin: 'stripe',
      changed: ['name'],
      write: 'catalogue-2@1733400000000',
    },
  });
  assert.is(e.summary, 'updated v4 (name), by the write for intent catalogue-2');
});

test('outcomes, decisions, requests and observations', () => {
  const cases: [unknown, string, string, string][] = [
    [
      {
        type: 'StripeCallFailed',
        data: { intentId: 'stripe-2', failure: 'transient', reason: 'HTTP 503', attempt: 2 },
      },
      'outcome',
      'stripe',
      'Stripe call failed (transient, attempt 2): HTTP 503 for intent stripe-2',
    ],
    [
      { type: 'SalesforceAccountUpdated', data: { intentId: 'salesforce-4' } },
      'outcome',
      'salesforce',
      'Salesforce account updated for intent salesforce-4',
    ],
    [
      { type: 'StripeCustomerNotFound', data: { intentId: 'stripe-5' } },
      'outcome',
      'stripe',
      'Stripe customer not found by the lookup for intent stripe-5',
    ],
    [
      { type: 'RetryRequested', data: { target: 'salesforce' } },
      'request',
      'operator',
      'retry of salesforce asked',
    ],
    [
      {
        type: 'CatalogueApplied',
        data: { intentId: 'catalogue-1', version: null, error: 'check violated' },
      },
      'decision',
      'rtws',
      'Postgres refused the write for intent catalogue-1: check violated',
    ],
    [
      {
        type: 'StripeCustomerMatched',
        data: { stripeId: 'cus_1', policy: 'stripe', fields: { name: 'Ada' } },
      },
      'decision',
      'stripe',
      'linked to cus_1, stripe values kept',
    ],
    [
      { type: 'SalesforceRecordObserved', data: { recordId: '001x', held: { phone: '+44 1' } } },
      'observation',
      'salesforce',
      'salesforce record observed 001x (phone)',
    ],
  ];
  for (const [message, kind, origin, summary] of cases) {
    const e = entry(message);
    assert.equal([e.kind, e.origin, e.summary], [kind, origin, summary]);
    assert.not.match(e.summary, /Ada|\+44/);
  }
});

test('an unreadable message is still listed, as such', () => {
  const e = entry(null);
  assert.equal([e.type, e.kind, e.seq], ['(unreadable)', 'outcome', 7]);
});

test('a Stripe event as INBOUND holds it', () => {
  const e = stripeEventEntry(
    'INBOUND',
    recorded(
      { id: 'evt_1', type: 'customer.updated', data: { object: { id: 'cus_1', email: 'a@b.c' } } },
      9,
    ),
  );
  assert.equal(
    [e.kind, e.origin, e.type, e.summary, e.stream, e.seq],
    [
      'stripe_event',
      'stripe',
      'customer.updated',
      'customer.updated evt_1 about cus_1',
      'INBOUND',
      9,
    ],
  );
});

test.run();
