// How GET /status counts a customer's target: as GET /customers/:id/sync shows it, a pending intent
// of a target an operator paused counting as waiting, and snapshots of another shape left out.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { initialTargetState } from '../../actors/customer/context.ts';
import { addSnapshot, countOf, noCounts } from '../../deploy/wiring/api/sync-counts.ts';

const test = suite('sync counts');

const state = (status: Parameters<typeof countOf>[0]['status'], pending = false) => ({
  status,
  pending: pending ? { type: 'update' } : null,
});

test('each status counts where the sync view shows it', () => {
  assert.is(countOf(state('synced'), false), 'synced');
  assert.is(countOf(state('pending', true), false), 'pending');
  assert.is(countOf(state('retrying', true), false), 'retrying');
  assert.is(countOf(state('paused', true), false), 'retrying', "Salesforce's quota pause");
  assert.is(countOf(state('failed'), false), 'failed');
  assert.is(countOf(state('unlinked'), false), 'unlinked');
  for (const s of ['new', 'deleted', 'off'] as const)
    assert.is(countOf(state(s), false), undefined);
});

test("a paused target's pending intent waits; one with nothing pending keeps its status", () => {
  assert.is(countOf(state('pending', true), true), 'waiting');
  assert.is(countOf(state('retrying', true), true), 'waiting');
  assert.is(countOf(state('synced'), true), 'synced');
});

test('stored actors add to their targets; other values are left out', () => {
  const counts = { stripe: noCounts(), salesforce: noCounts() };
  const stored = (stripe: string, salesforce: string, pending = false) => ({
    machineVersion: 2,
    snapshot: {
      context: {
        targets: {
          stripe: { ...initialTargetState(), status: stripe, pending: pending ? {} : null },
          salesforce: { ...initialTargetState(), status: salesforce },
        },
      },
    },
  });
  addSnapshot(counts, stored('synced', 'failed'), new Set());
  addSnapshot(counts, stored('pending', 'synced', true), new Set(['stripe']));
  addSnapshot(counts, null, new Set());
  addSnapshot(counts, { machineVersion: 2 }, new Set());
  addSnapshot(counts, { snapshot: { context: { targets: {} } } }, new Set());
  assert.equal(counts.stripe, { ...noCounts(), synced: 1, waiting: 1 });
  assert.equal(counts.salesforce, { ...noCounts(), synced: 1, failed: 1 });
});

test.run();
