// Import from Stripe at scale, as an adopting company meets it: an account already in use, a
// catalogue that has some of the same people (loaded before rtws captured anything, some emails in
// another casing), and rtws as a child process. Every Stripe customer ends in the catalogue once,
// the shared ones matched rather than duplicated, no Stripe customer is made, only the matched
// ones are written to, and a second import changes nothing. Two Stripe customers with one email are reported and left alone.
//
// Sizes (see test/harness/import-stack.ts): RTWS_IMPORT_CUSTOMERS (default 5,000, the size)
// Stripe customers, of which RTWS_IMPORT_MATCHED (default a tenth of them) are in the catalogue
// already. On a quiet two-core machine the file takes about a minute; a loaded one can take three
// times that.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { testSize } from '../harness/services.ts';
import type Stripe from 'stripe';
import {
  importStack,
  loadCatalogue,
  seedStripe,
  total,
  untilSettled,
  type ImportStack,
} from '../harness/import-stack.ts';
import { waitFor } from '../harness/stream.ts';
import { isCreate, type TappedRequest } from '../harness/stripe-tap.ts';
import { stripeBornId } from '../../adapters/postgres/stripe-customer-id.ts';

const CUSTOMERS = testSize('RTWS_IMPORT_CUSTOMERS', 5_000);
const MATCHED = testSize('RTWS_IMPORT_MATCHED', Math.max(1, Math.round(CUSTOMERS / 10)));
if (MATCHED > CUSTOMERS) throw new Error('RTWS_IMPORT_MATCHED exceeds RTWS_IMPORT_CUSTOMERS');

const test = suite<{ stacks: ImportStack[] }>('import from Stripe at scale');

test.before((ctx) => {
  ctx.stacks = [];
});
test.after(async (ctx) => {
  // Each one, even when another fails to stop.
  for (const s of ctx.stacks ?? []) await s.close().catch((err: unknown) => console.error(err));
});

// Two thirds of the shared ones differ in casing: a third in Stripe, a third in the catalogue.
const stripeEmail = (i: number) =>
  i % 3 === 0 ? `Person${i}@Example.COM` : `person${i}@example.com`;
const catalogueEmail = (i: number) =>
  i % 3 === 1 ? `PERSON${i}@example.com` : `person${i}@example.com`;

async function links(s: ImportStack): Promise<Map<string, string>> {
  const rows = await s.o.sql<{ customer_id: string; external_id: string }[]>`
    SELECT customer_id, external_id FROM customer_links WHERE target = 'stripe'`;
  return new Map(rows.map((r) => [r.external_id, r.customer_id]));
}

async function footprint(s: ImportStack) {
  const [r] = await s.o.sql<{ customers: number; versions: string; links: number }[]>`
    SELECT (SELECT count(*)::int FROM customers) AS customers,
           (SELECT coalesce(sum(version), 0) FROM customers) AS versions,
           (SELECT count(*)::int FROM customer_links) AS links`;
  return {
    ...r!,
    stripeCustomers: s.emulator.stats().customers,
    stripeWrites: s.tap.requests().filter((x) => x.method !== 'GET').length,
  };
}

test('every Stripe customer is imported once; the ones the catalogue has are matched', async (ctx) => {
  const s = await importStack();
  ctx.stacks.push(s);
  const every = Math.floor(CUSTOMERS / MATCHED);
  const shared = new Set(Array.from({ length: MATCHED }, (_, k) => k * every));
  const seeded = await seedStripe(
    s.stripe,
    Array.from({ length: CUSTOMERS }, (_, i) => ({ name: `Person ${i}`, email: stripeEmail(i) })),
  );
  const catalogue = await loadCatalogue(
    s.o,
    [...shared].map((i) => ({ name: `Person ${i}`, email: catalogueEmail(i) })),
  );
  const twinOf = new Map(
    catalogue.map((row) => [row.id, seeded[Number(/\d+/.exec(row.email)![0])]!.id]),
  );

  // Without the export a first start would begin, the import alone is what pairs them.
  const { api } = await s.spawn({
    RTWS_AUTO_EXPORT: 'false',
    RTWS_STRIPE_RATE: '2000',
    RTWS_STRIPE_CONCURRENCY: '32',
  });
  const began = Date.now();
  const started = await api.start({ source: 'stripe' });
  const done = await api.ended(started.id);
  const walkS = (Date.now() - began) / 1000;
  assert.is(done.state, 'done', JSON.stringify(done));
  assert.is(done.scanned, CUSTOMERS);
  assert.equal(done.counts, { insert: CUSTOMERS - MATCHED, match: MATCHED });
  assert.is(total(done.counts), done.scanned, 'the counts add up to what was walked');
  assert.is(done.errors, 0, done.last_error ?? '');

  await untilSettled(
    async () => (await links(s)).size,
    (n) => n === CUSTOMERS,
  );
  const linked = await links(s);
  const settledS = (Date.now() - began) / 1000;
  console.log(
    `import of ${CUSTOMERS} (${MATCHED} matched): walked in ${walkS.toFixed(1)} s, ` +
      `${linked.size} linked after ${settledS.toFixed(1)} s (${Math.round(linked.size / settledS)}/s)`,
  );
  const unpaired = [...twinOf].filter(
    ([customerId, stripeId]) => linked.get(stripeId) !== customerId,
  );
  assert.equal(
    unpaired.slice(0, 3).map(([customerId, stripeId]) => ({ customerId, stripeId })),
    [],
    `${unpaired.length} of ${MATCHED} catalogue customers are not linked to their Stripe twin`,
  );
  const unlinked = seeded.filter((c) => !linked.has(c.id));
  assert.equal(
    unlinked.slice(0, 3).map((c) => c.id),
    [],
    `${unlinked.length} of ${CUSTOMERS} Stripe customers are not linked`,
  );
  assert.is(linked.size, CUSTOMERS, 'no other link');

  const [rows] = await s.o.sql<{ rows_n: number; emails: number; stripe_born: number }[]>`
    SELECT count(*)::int AS rows_n, count(DISTINCT lower(email))::int AS emails,
           count(*) FILTER (WHERE origin = 'stripe')::int AS stripe_born
    FROM customers WHERE deleted_at IS NULL`;
  assert.equal(
    { ...rows },
    { rows_n: CUSTOMERS, emails: CUSTOMERS, stripe_born: CUSTOMERS - MATCHED },
    'one catalogue row per Stripe customer and per email',
  );
  const twice = await s.o.sql<{ email: string; n: number }[]>`
    SELECT lower(email) AS email, count(*)::int AS n FROM customers
    GROUP BY lower(email) HAVING count(*) > 1 LIMIT 5`;
  assert.equal([...twice], [], 'no email has two rows');

  // Both ways. A matched Stripe customer names its catalogue customer once its write-back is
  // answered. A Stripe-born one is named by its own id (its catalogue id derives from it): its
  // rtws_id waits for the first push rtws makes to it, so the import wrote nothing to it.
  const matchedIds = new Set(twinOf.values());
  const writtenBack = (r: TappedRequest) =>
    r.method === 'POST' &&
    r.status === 200 &&
    linked.get(r.path.slice('/v1/customers/'.length)) === r.form.get('metadata[rtws_id]');
  await untilSettled(
    async () =>
      new Set(
        s.tap
          .requests()
          .filter(writtenBack)
          .map((r) => r.path),
      ).size,
    (n) => n === MATCHED,
  );
  const named = new Map<string, string | undefined>();
  for await (const c of s.stripe.customers.list({ limit: 100 }))
    named.set(c.id, c.metadata.rtws_id);
  const misnamed = [...named].filter(([id, rtwsId]) =>
    matchedIds.has(id) ? rtwsId !== linked.get(id) : rtwsId !== undefined,
  );
  assert.equal(misnamed.slice(0, 3), [], `${misnamed.length} with the wrong rtws_id in Stripe`);
  const bornElsewhere = [...named.keys()].filter(
    (id) => !matchedIds.has(id) && linked.get(id) !== stripeBornId(id),
  );
  assert.equal(bornElsewhere.slice(0, 3), [], 'each Stripe-born customer is under its derived id');
  const writes = s.tap.requests().filter((r) => r.method === 'POST' && r.status === 200);
  assert.is(writes.length, MATCHED, 'one write per matched customer, none per Stripe-born one');
  assert.is(named.size, CUSTOMERS, 'no Stripe customer was made');
  assert.is(s.emulator.stats().customers, CUSTOMERS);
  assert.equal(s.tap.requests().filter(isCreate), [], 'rtws sent no POST /v1/customers');

  // A second import finds everything linked and changes nothing.
  // Once the matched pairs' merges have settled: nothing moving for three seconds.
  const before = await untilSettled(
    () => footprint(s),
    () => false,
    3_000,
  );
  const again = await api.ended((await api.start({ source: 'stripe' })).id);
  assert.is(again.state, 'done', JSON.stringify(again));
  assert.equal(again.counts, { linked: CUSTOMERS });
  await new Promise((r) => setTimeout(r, 2_000));
  assert.equal(await footprint(s), before, 'no row, version, link or Stripe write changed');
});

test('two Stripe customers with one email are reported as ambiguous and left unlinked', async (ctx) => {
  const s = await importStack();
  ctx.stacks.push(s);
  const [one, two, ...others] = await seedStripe(s.stripe, [
    { name: 'Sam one', email: 'sam@example.com' },
    { name: 'Sam two', email: 'SAM@Example.com' },
    ...Array.from({ length: 5 }, (_, i) => ({
      name: `Other ${i}`,
      email: `other${i}@example.com`,
    })),
  ]);
  const [sam] = await loadCatalogue(s.o, [{ name: 'Sam', email: 'Sam@example.com' }]);
  const { api } = await s.spawn({ RTWS_AUTO_EXPORT: 'false' });
  const done = await api.ended((await api.start({ source: 'stripe' })).id);
  assert.is(done.state, 'done', JSON.stringify(done));
  assert.equal(done.counts, { ambiguous: 2, insert: others.length });

  const listed = await api.ambiguities(done.id);
  assert.equal(listed.map((a) => a.stripe_id).sort(), [one!.id, two!.id].sort());
  for (const a of listed) {
    assert.is(a.email, 'sam@example.com');
    assert.equal(a.customers, [sam!.id], 'the one catalogue customer with that email');
    assert.equal([...a.stripe_ids].sort(), [one!.id, two!.id].sort(), 'both Stripe customers');
  }

  // The others are imported; by then the two would have been, had anything placed them.
  const linksNow = () => s.o.sql<{ customer_id: string; external_id: string }[]>`
    SELECT customer_id, external_id FROM customer_links WHERE target = 'stripe'`;
  await waitFor(linksNow, (rows) => rows.length === others.length, 30_000);
  await new Promise((r) => setTimeout(r, 1_000));
  const linked = await linksNow();
  const ids = linked.map((l) => l.external_id);
  assert.equal(ids.sort(), others.map((c) => c.id).sort(), 'only the others are linked');
  assert.not.ok(
    linked.some((l) => l.customer_id === sam!.id),
    'the catalogue customer is unlinked',
  );
  const sams = await s.o.sql<{ id: string }[]>`
    SELECT id FROM customers WHERE lower(email) = 'sam@example.com'`;
  assert.equal(
    sams.map((r) => r.id),
    [sam!.id],
    'no catalogue row was added for them',
  );
  for (const c of [one!, two!]) {
    const now = (await s.stripe.customers.retrieve(c.id)) as Stripe.Customer;
    assert.is(now.metadata.rtws_id, undefined, `${c.id} is left as it was`);
  }
  assert.equal(s.tap.requests().filter(isCreate), [], 'no Stripe customer was made');
});

test.run();
