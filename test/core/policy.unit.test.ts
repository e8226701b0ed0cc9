import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  canonicalFields,
  canonicalMetadata,
  sameValue,
  type CanonicalFields,
} from '../../core/canonical.ts';
import { backoffMs, DEFAULT_BACKOFF } from '../../core/policy/backoff.ts';
import { applyPatch, diffFields, isEmptyPatch } from '../../core/policy/push.ts';
import { countsTowardsFailure, createMayHaveLanded, isRetryable } from '../../core/policy/retry.ts';
import { FIELDS } from '../actors/gwt.ts';

test('backoff is deterministic per seed and attempt, and jitter differs across seeds', () => {
  assert.is(backoffMs(3, 'rtws-a-1-update'), backoffMs(3, 'rtws-a-1-update'));
  const spread = new Set(['a', 'b', 'c', 'd', 'e'].map((seed) => backoffMs(3, seed)));
  assert.ok(spread.size > 1, 'jitter spreads retries of different intents');
});

test('backoff stays within [delay × (1 − jitter), delay] and never exceeds the cap', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 60 }), fc.string(), (attempt, seed) => {
      const raw = Math.min(DEFAULT_BACKOFF.capMs, DEFAULT_BACKOFF.baseMs * 2 ** (attempt - 1));
      const d = backoffMs(attempt, seed);
      return (
        d <= raw &&
        d >= Math.floor(raw * (1 - DEFAULT_BACKOFF.jitter)) &&
        d <= DEFAULT_BACKOFF.capMs
      );
    }),
    { numRuns: 300 },
  );
});

test('failure classes: 429s never count, uncertain creates are looked up, 400s are not retried', () => {
  assert.not.ok(countsTowardsFailure('rate_limited'));
  assert.ok(countsTowardsFailure('transient'));
  assert.ok(createMayHaveLanded('uncertain'));
  assert.ok(createMayHaveLanded('idempotency_conflict'));
  assert.not.ok(createMayHaveLanded('rate_limited'));
  assert.not.ok(isRetryable('permanent'));
  assert.ok(isRetryable('rate_limited'));
});

const known = canonicalFields(FIELDS);

test('canonical metadata keeps every key as its own, `__proto__` too, and drops rtws_id', () => {
  const read = JSON.parse('{"__proto__":"p","toString":"t","rtws_id":"x","n":1}') as object;
  const m = canonicalMetadata(read as Record<string, unknown>);
  assert.equal(Object.entries(m), [
    ['__proto__', 'p'],
    ['n', '1'],
    ['toString', 't'],
  ]);
  assert.is(Object.getPrototypeOf(m), Object.prototype);
});

test('the diff holds only the changed fields; metadata is a patch with null for removed keys', () => {
  const desired: CanonicalFields = {
    ...known,
    phone: null,
    metadata: { plan: 'gold', seats: '4' },
  };
  assert.equal(diffFields(known, desired), { phone: null, metadata: { region: null, seats: '4' } });
  assert.ok(isEmptyPatch(diffFields(known, { ...known })));
});

test('with nothing known, every field is pushed', () => {
  assert.equal(Object.keys(diffFields(null, known)).sort(), [
    'address',
    'email',
    'metadata',
    'name',
    'phone',
  ]);
});

const canonical: fc.Arbitrary<CanonicalFields> = fc.record({
  name: fc.constantFrom('Ada', 'Grace'),
  email: fc.constantFrom(null, 'a@x.io'),
  phone: fc.constantFrom(null, '+1 555'),
  address: fc.constantFrom(null, known.address),
  metadata: fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.constantFrom('1', '2')),
});

test('applying the diff to what is known yields exactly what is desired', () => {
  fc.assert(
    fc.property(canonical, canonical, (from, to) =>
      sameValue(applyPatch(from, diffFields(from, to)), to),
    ),
    { numRuns: 300 },
  );
});

test.run();
