// A Stripe-born customer's id must never change: links, snapshots and Stripe's metadata.rtws_id
// all hold it. These pin known ids, and check the uuid package's v5 against the hash the ids were
// first made with, for any Stripe id.
import { createHash } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { stripeBornId } from '../../adapters/postgres/stripe-customer-id.ts';

/** How the ids were first made: SHA-1 of the prefixed Stripe id, stamped as version 5. */
function firstMade(stripeId: string): string {
  const h = createHash('sha1').update(`rtws:stripe-customer:${stripeId}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

test('known Stripe ids keep their customer ids', () => {
  assert.is(stripeBornId('cus_born4'), 'a3a0fdf2-c11d-5216-9594-0ef2716e4db3');
  assert.is(stripeBornId('cus_NffrFeUfNV2Hib'), '0162f7d9-9227-57e9-ade1-539f7dea5904');
});

test('any Stripe id gets the id it was first given', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 64 }), (id) => {
      assert.is(stripeBornId(id), firstMade(id));
    }),
  );
});

test.run();
