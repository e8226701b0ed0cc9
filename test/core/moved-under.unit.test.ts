// The check a push decided before a restart makes before it is sent: a field it would overwrite
// that the target changed since is "moved"; nothing else is.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { sameValue, type CanonicalFields } from '../../core/canonical.ts';
import {
  applyPatch,
  diffFields,
  movedUnder,
  patchFieldNames,
  pickFields,
  valuesUnder,
} from '../../core/policy/push.ts';

const value = fc.constantFrom('a', 'b', 'c');
// Keys named like members of Object.prototype: a map without one must read as not holding it,
// and one with `__proto__` must hold it as any other key.
const KEYS = ['k1', 'constructor', '__proto__'];
const own = <T>(m: Record<string, T> | undefined, k: string) =>
  m && Object.hasOwn(m, k) ? m[k] : undefined;
const SCALARS = ['name', 'email', 'phone', 'address'] as const;
const fields: fc.Arbitrary<CanonicalFields> = fc.record({
  name: fc.constantFrom('a', 'b'),
  email: fc.option(value, { nil: null }),
  phone: fc.option(value, { nil: null }),
  address: fc.constant(null),
  metadata: fc.dictionary(fc.constantFrom(...KEYS), value),
});

test('the target as we knew it, or with the push already applied, holds nothing back', () => {
  fc.assert(
    fc.property(fields, fields, (known, desired) => {
      const patch = diffFields(known, desired);
      const base = valuesUnder(known, patch);
      assert.equal(movedUnder(base, patch, known), []);
      assert.equal(movedUnder(base, patch, applyPatch(known, patch)), []);
    }),
  );
});

test('a push turns what the target holds into what is desired, key by key', () => {
  fc.assert(
    fc.property(fields, fields, (known, desired) => {
      const got = applyPatch(known, diffFields(known, desired));
      // Field by field: fast-check may build a record without a prototype, which equal() tells.
      assert.equal(Object.entries(got.metadata).sort(), Object.entries(desired.metadata).sort());
      for (const f of SCALARS) assert.equal(got[f], desired[f], f);
    }),
  );
});

test('a patched field holding a third value is moved; an unpatched one never is', () => {
  fc.assert(
    fc.property(fields, fields, fields, (known, desired, now) => {
      const patch = diffFields(known, desired);
      const base = valuesUnder(known, patch);
      const moved = new Set(movedUnder(base, patch, now));
      const after = applyPatch(known, patch);
      for (const field of ['name', 'email', 'phone'] as const) {
        const third = !sameValue(now[field], known[field]) && !sameValue(now[field], after[field]);
        assert.is(moved.has(field), patch[field] !== undefined && third, field);
      }
      for (const key of KEYS) {
        const held = own(now.metadata, key) ?? null;
        const third =
          held !== (own(known.metadata, key) ?? null) &&
          held !== (own(after.metadata, key) ?? null);
        const patched = own(patch.metadata, key) !== undefined;
        assert.is(moved.has(`metadata.${key}`), patched && third, key);
      }
    }),
  );
});

test('a checked part of a push sets exactly the named fields it set, with the same values', () => {
  const names = fc.subarray([
    'name',
    'email',
    'phone',
    'address',
    ...KEYS.map((k) => `metadata.${k}`),
  ]);
  fc.assert(
    fc.property(fields, fields, names, (known, desired, picked) => {
      const patch = diffFields(known, desired);
      const part = pickFields(patch, picked);
      const set = patchFieldNames(patch);
      assert.equal(patchFieldNames(part).sort(), set.filter((f) => picked.includes(f)).sort());
      // Applied over the known values, the part agrees with the whole push on each field it sets.
      const whole = applyPatch(known, patch);
      const partly = applyPatch(known, part);
      for (const f of patchFieldNames(part)) {
        const [scalar, key] = f.startsWith('metadata.') ? ['metadata', f.slice(9)] : [f, ''];
        const a = scalar === 'metadata' ? own(whole.metadata, key) : whole[scalar as 'name'];
        const b = scalar === 'metadata' ? own(partly.metadata, key) : partly[scalar as 'name'];
        assert.ok(sameValue(a, b), f);
      }
    }),
  );
});

test.run();
