// The Salesforce region: upserts by our id with no keys, partial pushes, deletes, and a quota
// pause that loses nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalFields } from '../../core/canonical.ts';
import { SALESFORCE_QUOTA_PAUSE_MS } from '../../actors/customer/index.ts';
import { CUSTOMER, FIELDS, created, deleted, intents, updated } from './gwt.ts';
import {
  given,
  salesforce,
  sfCreated,
  sfDeleted,
  sfFailed,
  sfFound,
  sfNotFound,
  sfPending,
  sfRetryRequested,
  sfUpdated,
  when,
} from './two-targets.ts';

const SF_ID = '001000000000001AAA';
const linked = () => given(created(), sfCreated(SF_ID));

test('a new customer records CreateSalesforceAccount, an upsert by our id with no key', () => {
  const w = given(created());
  const intent = intents(w).find((i) => i.target === 'salesforce');
  assert.is(intent?.type, 'CreateSalesforceAccount');
  assert.is(intent?.key, null);
  assert.equal(intent?.params, {
    ...canonicalFields(FIELDS),
    metadata: { plan: 'gold', region: 'eu', rtws_id: CUSTOMER },
  });
  assert.equal(w.snapshot.value, { stripe: 'pending', salesforce: 'pending' });
});

test('the upsert links the Salesforce id and records what Salesforce holds', () => {
  const w = linked();
  assert.is(salesforce(w).externalId, SF_ID);
  assert.is(salesforce(w).status, 'synced');
  assert.equal(salesforce(w).known, canonicalFields(FIELDS));
  assert.is(salesforce(w).syncedVersion, 1);
});

test('an update pushes only the changed fields, with no key', () => {
  const w = when(linked(), updated({ phone: null, name: 'Ada King' }, 2));
  const intent = sfPending(w);
  assert.is(intent.type, 'UpdateSalesforceAccount');
  assert.is(intent.key, null);
  assert.equal(intent.params, {
    externalId: SF_ID,
    patch: { name: 'Ada King', phone: null },
    base: { name: 'Ada Lovelace', phone: '+44 20 7946 0000' },
  });
  const done = when(w, sfUpdated());
  assert.is(salesforce(done).status, 'synced');
  assert.is(salesforce(done).known?.phone, null);
  assert.is(salesforce(done).syncedVersion, 2);
});

test('a delete deletes by the Salesforce id; NOT_FOUND on a retry of it means done', () => {
  const w = when(linked(), deleted(2));
  assert.is(sfPending(w).type, 'DeleteSalesforceAccount');
  assert.equal(sfPending(w).params, { externalId: SF_ID });
  assert.is(salesforce(when(w, sfDeleted())).status, 'deleted');
  const gone = when(w, sfFailed('transient'), sfFailed('not_found'));
  assert.is(salesforce(gone).status, 'deleted');
  assert.is(salesforce(gone).pending, null);
  assert.is(salesforce(gone).lastError, null);
  assert.equal(gone.snapshot.value, { stripe: 'pending', salesforce: 'deleted' });
});

test('a create that may have landed is resent as it is: an upsert cannot create twice', () => {
  const w = when(given(created()), sfFailed('transient'));
  const resend = sfPending(w);
  assert.is(resend.type, 'CreateSalesforceAccount', 'no lookup first');
  assert.is(resend.attempt, 2);
  assert.is(resend.key, null);
  assert.is(salesforce(w).status, 'retrying');
  assert.is(salesforce(when(w, sfCreated(SF_ID))).externalId, SF_ID);
});

test('deleted while a create was uncertain: the record is looked up by our id, then deleted', () => {
  const w = when(given(created()), sfFailed('transient'), deleted(2), sfFailed('transient'));
  assert.is(sfPending(w).type, 'FindSalesforceAccount');
  const found = when(w, sfFound(SF_ID, canonicalFields(FIELDS)));
  assert.is(sfPending(found).type, 'DeleteSalesforceAccount');
  assert.is(salesforce(when(w, sfNotFound())).status, 'deleted');
});

test('a spent quota pauses the target for minutes, never fails it, and loses no change', () => {
  let w = when(linked(), updated({ name: 'Ada King' }, 2), sfFailed('rate_limited'));
  assert.is(salesforce(w).status, 'paused');
  assert.equal(w.snapshot.value, { stripe: 'pending', salesforce: 'paused' });
  assert.ok(sfPending(w).notBefore >= w.now + SALESFORCE_QUOTA_PAUSE_MS);
  for (let i = 0; i < 12; i++) w = when(w, sfFailed('rate_limited'));
  assert.is(salesforce(w).status, 'paused', 'a pause never counts towards failing');
  assert.is(sfPending(w).failures, 0);
  w = when(w, updated({ name: 'Ada King', phone: null }, 3));
  assert.is(sfPending(w).version, 2, 'the paused intent stays');
  w = when(w, sfRetryRequested());
  assert.is(sfPending(w).notBefore, w.now, 'the operator resumes it now');
  w = when(w, sfUpdated());
  assert.equal(sfPending(w).params, {
    externalId: SF_ID,
    patch: { phone: null },
    base: { phone: '+44 20 7946 0000' },
  });
  w = when(w, sfUpdated());
  assert.is(salesforce(w).status, 'synced');
  assert.is(salesforce(w).syncedVersion, 3);
});

test('a spent quota whose outcome names a pause waits that long, shorter or longer', () => {
  const withPause = (ms: number) =>
    when(linked(), updated({ name: 'Ada King' }, 2), (w) => ({
      type: 'SalesforceCallFailed',
      data: {
        intentId: sfPending(w).id,
        failure: 'rate_limited',
        reason: 'salesforce said rate_limited',
        attempt: sfPending(w).attempt,
        retryAfterMs: ms,
      },
      at: w.now,
    }));
  for (const ms of [30_000, 2 * SALESFORCE_QUOTA_PAUSE_MS]) {
    const w = withPause(ms);
    assert.is(salesforce(w).status, 'paused');
    assert.ok(sfPending(w).notBefore >= w.now + ms);
    assert.ok(sfPending(w).notBefore < w.now + ms + 5_000, 'the named pause, not the default');
  }
});

test('a permanent failure fails the target until a newer fact', () => {
  const w = when(linked(), updated({ name: 'x' }, 2), sfFailed('permanent'));
  assert.is(salesforce(w).status, 'failed');
  assert.equal(w.decisions.at(-1)?.deadLettered, ['salesforce']);
  const next = when(w, updated({ name: 'y' }, 3));
  assert.equal(sfPending(next).params, {
    externalId: SF_ID,
    patch: { name: 'y' },
    base: { name: 'Ada Lovelace' },
  });
});

test('a field edited in Salesforce, found by a reconciliation, is put back by the push rule', () => {
  const w = linked();
  const observed = (recordId: string) => (x: { now: number }) => ({
    type: 'SalesforceRecordObserved' as const,
    data: { recordId, held: { name: 'Edited in Salesforce' } },
    at: x.now,
  });
  const drifted = when(w, observed(SF_ID));
  assert.equal(sfPending(drifted).params, {
    externalId: SF_ID,
    patch: { name: FIELDS.name },
    base: { name: 'Edited in Salesforce' },
  });
  // A record of another link (linked again since the read) changes nothing.
  const other = when(w, observed('001000000000009ZZZ'));
  assert.equal(salesforce(other), salesforce(w));
});

const missing =
  (recordId: string, policy: 'unlink' | 'propagate' | 'recreate') => (x: { now: number }) => ({
    type: 'SalesforceRecordMissing' as const,
    data: { recordId, policy },
    at: x.now,
  });

test('a record deleted in Salesforce follows the policy, never silently', () => {
  const w = linked();
  // unlink: the target is unlinked with the reason (and dead-lettered); nothing is pushed.
  const unlinkedW = when(w, missing(SF_ID, 'unlink'));
  assert.is(salesforce(unlinkedW).status, 'unlinked');
  assert.is(salesforce(unlinkedW).externalId, null);
  assert.match(salesforce(unlinkedW).lastError?.reason ?? '', /deleted in Salesforce; unlinked/);
  assert.is(salesforce(unlinkedW).pending, null);
  // A later edit of the customer never upserts the deleted record back.
  const editedAfter = when(unlinkedW, updated({ phone: '+1 9' }, 2));
  assert.equal(
    [salesforce(editedAfter).status, salesforce(editedAfter).pending],
    ['unlinked', null],
  );
  // recreate: upserted again by our id.
  const recreated = when(w, missing(SF_ID, 'recreate'));
  assert.is(sfPending(recreated).type, 'CreateSalesforceAccount');
  // propagate: the customer is deleted in Postgres, as a change from Salesforce.
  const propagated = when(w, missing(SF_ID, 'propagate'));
  const [apply] = propagated.snapshot.context.inbound.applies;
  assert.equal([apply?.kind, apply?.origin], ['delete', 'salesforce']);
  assert.is(salesforce(propagated).status, 'deleted');
  // A report about another record (linked again since) changes nothing.
  assert.equal(salesforce(when(w, missing('001000000000009ZZZ', 'recreate'))), salesforce(w));
});

test.run();
