// The merge policy's laws, over random canonical contents: one-sided changes take that side, a
// change on both sides is a conflict decided by the later second (a tie goes to Postgres).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { fieldValue, sameValue, type CanonicalFields } from '../../core/canonical.ts';
import { FIELD_OWNERS, mergeFields, ownerOf, type FieldOwners } from '../../core/policy/merge.ts';
import { applyPatch, diffFields } from '../../core/policy/push.ts';

const value = fc.constantFrom('a', 'b', 'c');
// Keys named like members of Object.prototype: a map without one must read as not holding it,
// and one with `__proto__` must hold it as any other key.
const KEYS = ['k1', 'constructor', '__proto__'];
const own = (m: Record<string, string>, k: string) => (Object.hasOwn(m, k) ? m[k] : null);
const fields: fc.Arbitrary<CanonicalFields> = fc.record({
  name: fc.constantFrom('a', 'b', ''),
  email: fc.option(value, { nil: null }),
  phone: fc.option(value, { nil: null }),
  address: fc.constant(null),
  metadata: fc.dictionary(fc.constantFrom(...KEYS), value),
});
const second = fc.integer({ min: 1_700_000_000, max: 1_700_000_005 });
const at = (n: number) => () => n;

test('nothing changed on Stripe: nothing to apply, no conflict', () => {
  fc.assert(
    fc.property(fields, fields, second, second, (base, ours, a, b) => {
      const r = mergeFields({ base, ours, theirs: base, oursSecond: at(a), theirsSecond: b });
      return Object.keys(r.apply).length === 0 && r.conflicts.length === 0;
    }),
  );
});

test("nothing changed in Postgres: Stripe's changes are applied, no conflict", () => {
  fc.assert(
    fc.property(fields, fields, second, second, (base, theirs, a, b) => {
      const r = mergeFields({ base, ours: base, theirs, oursSecond: at(a), theirsSecond: b });
      return r.conflicts.length === 0 && sameValue(applyPatch(base, r.apply), theirs);
    }),
  );
});

test('each field ends as the policy says: one-sided changes taken, both-sided by the later second', () => {
  fc.assert(
    fc.property(fields, fields, fields, second, second, (base, ours, theirs, a, b) => {
      const r = mergeFields({ base, ours, theirs, oursSecond: at(a), theirsSecond: b });
      const postgres = applyPatch(ours, r.apply);
      const expectField = (field: string, bv: unknown, ov: unknown, tv: unknown, got: unknown) => {
        const stripeChanged = !sameValue(tv, bv);
        const pgChanged = !sameValue(ov, bv);
        const want = stripeChanged && (!pgChanged || b > a) ? tv : ov;
        assert.ok(sameValue(got, want), `${field}: ${JSON.stringify([bv, ov, tv, got])}`);
        const conflict = r.conflicts.find((c) => c.field === field);
        assert.is(
          !!conflict,
          stripeChanged && pgChanged && !sameValue(ov, tv),
          `${field} conflict`,
        );
        if (conflict) assert.is(conflict.winner, b > a ? 'stripe' : 'postgres');
      };
      for (const f of ['name', 'email', 'phone', 'address'] as const)
        expectField(f, base[f], ours[f], theirs[f], postgres[f]);
      for (const k of KEYS)
        expectField(
          `metadata.${k}`,
          own(base.metadata, k),
          own(ours.metadata, k),
          own(theirs.metadata, k),
          own(postgres.metadata, k),
        );
      // After the push of what Stripe does not hold, both sides agree.
      assert.equal(applyPatch(theirs, diffFields(theirs, postgres)), postgres);
    }),
  );
});

test("the time of Postgres's change is the field's own", () => {
  const base = { name: 'base', email: 'e', phone: null, address: null, metadata: {} };
  const ours = { ...base, name: 'pg', email: 'pg-email' };
  const theirs = { ...base, name: 'stripe', email: 'stripe-email' };
  const seconds: Record<string, number> = { name: 10, email: 30 };
  const r = mergeFields({ base, ours, theirs, oursSecond: (f) => seconds[f]!, theirsSecond: 20 });
  assert.equal(r.apply, { name: 'stripe' });
  assert.equal(
    r.conflicts.map((c) => [c.field, c.winner]),
    [
      ['name', 'stripe'],
      ['email', 'postgres'],
    ],
  );
});

test('the same field changed on both sides: the later second wins, a tie goes to Postgres', () => {
  const base = { name: 'base', email: null, phone: null, address: null, metadata: {} };
  const ours = { ...base, name: 'pg' };
  const theirs = { ...base, name: 'stripe' };
  const later = mergeFields({ base, ours, theirs, oursSecond: at(10), theirsSecond: 11 });
  assert.equal(later.apply, { name: 'stripe' });
  assert.equal(
    later.conflicts.map((c) => [c.field, c.postgres, c.stripe, c.winner]),
    [['name', 'pg', 'stripe', 'stripe']],
  );
  const tie = mergeFields({ base, ours, theirs, oursSecond: at(10), theirsSecond: 10 });
  assert.equal(tie.apply, {});
  assert.is(tie.conflicts[0]?.winner, 'postgres');
  assert.match(tie.conflicts[0]!.reason, /tie goes to Postgres/);
});

test('metadata merges key by key', () => {
  const base = { name: 'n', email: null, phone: null, address: null, metadata: { a: '1', b: '1' } };
  const r = mergeFields({
    base,
    ours: { ...base, metadata: { a: '2', b: '1' } },
    theirs: { ...base, metadata: { a: '1' } },
    oursSecond: at(1),
    theirsSecond: 2,
  });
  assert.equal(r.apply, { metadata: { b: null } });
  assert.equal(r.conflicts, []);
});

const owners: fc.Arbitrary<FieldOwners> = fc.dictionary(
  fc.constantFrom('name', 'email', 'phone', 'metadata', 'metadata.k1'),
  fc.constantFrom(...FIELD_OWNERS),
);
const side = fc.constantFrom('stripe' as const, 'salesforce' as const);

test("field owners: an owner's change always wins, another's is put back, whatever the times", () => {
  fc.assert(
    fc.property(
      fields,
      fields,
      fields,
      second,
      second,
      owners,
      side,
      (base, ours, theirs, a, b, o, s) => {
        const r = mergeFields({
          base,
          ours,
          theirs,
          oursSecond: at(a),
          theirsSecond: b,
          side: s,
          owners: o,
        });
        const merged = applyPatch(ours, r.apply);
        for (const f of ['name', 'email', 'phone', ...KEYS.map((k) => `metadata.${k}`)]) {
          const owner = ownerOf(o, f);
          const t = fieldValue(theirs, f);
          if (
            owner === undefined ||
            sameValue(t, fieldValue(base, f)) ||
            sameValue(t, fieldValue(ours, f))
          )
            continue;
          const expected = owner === s ? t : fieldValue(ours, f);
          if (!sameValue(fieldValue(merged, f), expected)) return false;
          // Refused, or meeting Postgres's change: recorded with the reason owner.
          const recorded = r.conflicts.find((c) => c.field === f);
          if (owner !== s || !sameValue(fieldValue(ours, f), fieldValue(base, f)))
            if (!recorded?.reason.startsWith('owner:')) return false;
        }
        return true;
      },
    ),
  );
});

test.run();
