// The pure parts of match before create: which Stripe customer a create takes, the pacing of
// lookups to Stripe's search budget, and the lock per email within a process.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type Stripe from 'stripe';
import { decideMatch, keyedMutex, pacer } from '../../adapters/stripe/match.ts';

const US = 'b1a7c1de-0000-4000-8000-000000000001';
const OTHER = 'b1a7c1de-0000-4000-8000-000000000002';

const customer = (id: string, rtwsId?: string): Stripe.Customer =>
  ({ id, metadata: rtwsId === undefined ? {} : { rtws_id: rtwsId } }) as unknown as Stripe.Customer;

test('no candidate: create; one unlinked: claim it; several: ambiguous, sorted', () => {
  assert.equal(decideMatch(US, [], new Map()), { kind: 'create' });
  const one = customer('cus_1');
  assert.equal(decideMatch(US, [one], new Map()), { kind: 'claim', customer: one });
  assert.equal(decideMatch(US, [customer('cus_2'), customer('cus_1')], new Map()), {
    kind: 'ambiguous',
    ids: ['cus_1', 'cus_2'],
  });
});

test('a customer linked elsewhere, by rtws_id or by the link table, is not a candidate', () => {
  const theirs = customer('cus_1', OTHER);
  const listed = customer('cus_2');
  assert.equal(decideMatch(US, [theirs], new Map()), { kind: 'create' });
  assert.equal(decideMatch(US, [listed], new Map([['cus_2', OTHER]])), { kind: 'create' });
  // An empty rtws_id is no id.
  const blank = customer('cus_3', '');
  assert.equal(decideMatch(US, [theirs, blank], new Map()), { kind: 'claim', customer: blank });
});

test('ours first: our id on it, or a link to us; the link table wins over rtws_id', () => {
  const ours = customer('cus_ours', US);
  assert.equal(decideMatch(US, [customer('cus_1'), customer('cus_2'), ours], new Map()), {
    kind: 'matched',
    customer: ours,
  });
  const linked = customer('cus_l');
  assert.equal(decideMatch(US, [linked], new Map([['cus_l', US]])), {
    kind: 'matched',
    customer: linked,
  });
  // Carries our id, but the link table gives it to another customer: not ours, not free.
  assert.equal(decideMatch(US, [customer('cus_x', US)], new Map([['cus_x', OTHER]])), {
    kind: 'create',
  });
});

test('the pacer spaces turns evenly and refuses a turn further away than the caller waits', async () => {
  let t = 1_000;
  const pace = pacer(10, () => t);
  assert.is(await pace(0), 0, 'the first goes at once');
  assert.is(await pace(0), 100, 'the next turn is 100 ms away: refused');
  assert.is(await pace(0), 100, 'a refusal takes no turn');
  t += 100;
  assert.is(await pace(0), 0);
  const started = Date.now();
  t += 50;
  assert.is(await pace(1_000), 0, 'within the wait: it waits its turn');
  assert.ok(Date.now() - started >= 40);
});

test('the lock per key runs one at a time for a key, in order, and keys apart in parallel', async () => {
  const lock = keyedMutex();
  const log: string[] = [];
  const section =
    (name: string, ms: number, fail = false) =>
    async () => {
      log.push(`${name}+`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`${name}-`);
      if (fail) throw new Error(name);
      return name;
    };
  const results = await Promise.allSettled([
    lock('a', section('a1', 30, true)),
    lock('a', section('a2', 10)),
    lock('b', section('b1', 5)),
  ]);
  assert.equal(
    results.map((r) => r.status),
    ['rejected', 'fulfilled', 'fulfilled'],
  );
  assert.ok(log.indexOf('a1-') < log.indexOf('a2+'), log.join(' '));
  assert.ok(log.indexOf('b1-') < log.indexOf('a1-'), log.join(' '));
});

test.run();
