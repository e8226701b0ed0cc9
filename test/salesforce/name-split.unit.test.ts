// A catalogue name as FirstName and LastName, and back: for every name the catalogue can hold,
// splitting and joining again gives the same canonical name, so a name that comes back from
// Salesforce unchanged never looks like an edit there.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { canonicalString, type CanonicalFields } from '../../core/canonical.ts';
import { joinName, splitName } from '../../adapters/salesforce/name-split.ts';
import {
  fieldsOfRecord,
  valuesOfFields,
  valuesOfPatch,
  type FieldMap,
  type SalesforceValues,
} from '../../adapters/salesforce/mapper.ts';

const CONTACT: FieldMap = { FirstName: 'name.first', LastName: 'name.last', Email: 'email' };

/** Whitespace of every kind `trim` knows, and the plain space, often. */
const space = fc.constantFrom(' ', ' ', ' ', '  ', '\t', '\n', '\u00a0', '\u2009', '\u3000');
const word = fc.oneof(
  fc.string({ minLength: 1, maxLength: 6, unit: 'grapheme' }),
  fc.constantFrom('Mary', 'Ann', 'Ó', 'Dvořák', '李', '小龙', 'e\u0301', '👩‍🔬', 'van', 'de'),
);
/** Words and whitespace in any order, canonicalised as the catalogue does: trimmed, '' if empty. */
const name = fc
  .array(fc.oneof(word, space), { maxLength: 8 })
  .map((parts) => canonicalString(parts.join('')) ?? '');

/** What Salesforce keeps of a value: an empty string is stored as null. */
const stored = (values: SalesforceValues): SalesforceValues =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [k, v === '' ? null : v]));

const withName = (n: string): CanonicalFields => ({
  name: n,
  email: null,
  phone: null,
  address: null,
  metadata: {},
});

test('examples: the last single space splits; one word is all last name', () => {
  assert.equal(splitName('Mary Ann Smith'), { first: 'Mary Ann', last: 'Smith' });
  assert.equal(splitName('Cher'), { first: null, last: 'Cher' });
  assert.equal(splitName('Ann  Smith'), { first: null, last: 'Ann  Smith' }, 'only a run');
  assert.equal(splitName('Mary Ann  Smith'), { first: 'Mary', last: 'Ann  Smith' });
  assert.equal(splitName('Jean\u00a0Paul Sartre'), { first: 'Jean\u00a0Paul', last: 'Sartre' });
  assert.equal(splitName(''), { first: null, last: null });
  assert.is(joinName(' Mary ', 'Smith'), 'Mary Smith');
  assert.is(joinName(null, 'Smith'), 'Smith');
  assert.is(joinName('Mary', ''), 'Mary');
  assert.is(joinName(null, null), null);
});

test('every canonical name splits into parts that join back to it exactly', () => {
  fc.assert(
    fc.property(name, (n) => {
      const { first, last } = splitName(n);
      assert.is(joinName(first, last) ?? '', n);
      for (const part of [first, last])
        if (part !== null) assert.is(canonicalString(part), part, 'no part needs trimming');
      if (n !== '') assert.ok(last !== null, 'a name always has a last name');
    }),
    { numRuns: 2_000 },
  );
});

test('a name written to FirstName/LastName reads back as the same name, by create or patch', () => {
  fc.assert(
    fc.property(name, (n) => {
      const created = fieldsOfRecord(CONTACT, stored(valuesOfFields(CONTACT, withName(n))));
      assert.is(created.name, n);
      const patched = fieldsOfRecord(CONTACT, stored(valuesOfPatch(CONTACT, { name: n })));
      assert.is(patched.name, n);
    }),
    { numRuns: 1_000 },
  );
});

test('a rename clears the first name it no longer has', () => {
  assert.equal(valuesOfPatch(CONTACT, { name: 'Cher' }), { FirstName: null, LastName: 'Cher' });
});

test.run();
