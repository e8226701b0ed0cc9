// The record of an org's API usage: rtws's own calls are counted until an answer holds them, so
// answers that arrive out of order never make the count read lower than the truth; a count that
// fell (Salesforce's window rolled on) is taken.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  NO_USAGE,
  allows,
  answered,
  budgetOf,
  parseLimitInfo,
  parseShare,
  reserve,
  type UsageRecord,
} from '../../core/policy/daily-budget.ts';

const OPEN_FOR = 10_000;
const T = 1_700_000_000_000;
const known = (used: number, limit = 1_000): UsageRecord => ({ ...NO_USAGE, used, limit });

test('shares are percentages with their sign', () => {
  assert.is(parseShare('50%'), 0.5);
  assert.is(parseShare('12.5%'), 0.125);
  assert.is(parseShare('100%'), 1);
  for (const bad of ['0%', '0.5', '50', '101%', '', '%'])
    assert.is(parseShare(bad), undefined, bad);
});

test('the budget: share × limit for live changes, 90 % of that for backfills', () => {
  assert.equal(budgetOf(100_000, 0.5), { live: 50_000, backfill: 45_000 });
  assert.equal(budgetOf(1_000, 0.125), { live: 125, backfill: 112 });
});

test('a call goes while it stays within the budget; backfills stop earlier', () => {
  assert.ok(allows(known(499), 0.5, 'live'), '500 of 500 is within');
  assert.not.ok(allows(known(500), 0.5, 'live'));
  assert.ok(allows(known(449), 0.5, 'backfill'));
  assert.not.ok(allows(known(450), 0.5, 'backfill'));
  assert.ok(allows(known(450), 0.5, 'live'));
  assert.not.ok(allows(NO_USAGE, 0.5, 'live'), 'an unknown count allows nothing');
  assert.not.ok(allows(undefined, 0.5, 'live'));
});

test('answers out of order: the count never reads below the calls it knows of', () => {
  // Two calls in flight; Salesforce runs A (101), then B (102), but B's answer comes first.
  const a = reserve(known(100), T, OPEN_FOR);
  const b = reserve(a.record, T + 10, OPEN_FOR);
  assert.is(b.record.used, 102);
  const afterB = answered(b.record, b.ticket, T + 50, OPEN_FOR, { used: 102, limit: 1_000 });
  assert.ok(afterB.used >= 102, `${afterB.used}`);
  const afterA = answered(afterB, a.ticket, T + 60, OPEN_FOR, { used: 101, limit: 1_000 });
  assert.is(afterA.used, 102, "A's older count plus B, sent after it");
  assert.equal(afterA.open, {}, 'nothing in flight');
});

test("others' calls raise the count; a count that fell is taken", () => {
  const a = reserve(known(100), T, OPEN_FOR);
  const raised = answered(a.record, a.ticket, T + 5, OPEN_FOR, { used: 400, limit: 1_000 });
  assert.is(raised.used, 400);
  const b = reserve(raised, T + 60_000, OPEN_FOR);
  const fell = answered(b.record, b.ticket, T + 60_005, OPEN_FOR, { used: 120, limit: 1_000 });
  assert.is(fell.used, 120);
  assert.is(fell.limit, 1_000);
});

test('a call without an answer leaves the count as it was; a raised limit is taken', () => {
  const a = reserve(known(10, 100), T, OPEN_FOR);
  const lost = answered(a.record, a.ticket, T + 5_000, OPEN_FOR);
  assert.equal([lost.used, lost.limit, lost.open], [11, 100, {}]);
  const b = reserve(lost, T + 6_000, OPEN_FOR);
  const raised = answered(b.record, b.ticket, T + 6_100, OPEN_FOR, { used: 12, limit: 5_000 });
  assert.equal([raised.used, raised.limit], [12, 5_000]);
});

test('calls of a process that died stop counting as in flight after a while', () => {
  const dead = reserve(known(10), T, OPEN_FOR).record;
  const a = reserve(dead, T + 1_000, OPEN_FOR);
  assert.is(a.ticket.openBefore, 1);
  const b = reserve(a.record, T + OPEN_FOR + 1_500, OPEN_FOR);
  assert.is(b.ticket.openBefore, 1, "only A: the dead process's call is dropped");
});

test("the header's org-wide count, not a connected app's", () => {
  assert.equal(parseLimitInfo('api-usage=18/100000'), { used: 18, limit: 100_000 });
  assert.equal(parseLimitInfo('per-app-api-usage=1/2(appName=x), api-usage=7/15000'), {
    used: 7,
    limit: 15_000,
  });
  assert.is(parseLimitInfo(undefined), undefined);
  assert.is(parseLimitInfo('nonsense'), undefined);
});

test.run();
