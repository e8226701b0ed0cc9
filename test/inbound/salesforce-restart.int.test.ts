// A restart never costs a Salesforce edit either. The worker, a child process, is SIGKILLed while
// its push of an API edit to Salesforce waits on failures; a person edits the same field of the
// Account while it is down. The restarted worker must not let the push decided before the crash
// overwrite that newer edit: its echo would then look like our own write, and the edit would be
// lost without a trace. The push waits for the read of Salesforce's changes, and the merge judges
// each side by the time of its own change. The same for a create whose answer is lost: the
// person edits the new record before the create is resent, and the resend must not undo it.
import type Stripe from 'stripe';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { eventually } from '../harness/stream.ts';
import { accountsFor, editInSalesforce, salesforceLinked } from './salesforce-side.ts';
import { holdsEvery, linked, quiet, row, rowWhen, twoWay, type TwoWay } from './stack.ts';

const test = suite<{ s: TwoWay }>('restart while a Salesforce push waits');
test.before(async (ctx) => {
  ctx.s = await twoWay({
    workerProcess: true,
    salesforce: true,
    env: { RTWS_SALESFORCE_POLL_S: '1' },
  });
});
test.after(async (ctx) => {
  await ctx.s?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The person's phone reaches Postgres, stays in Salesforce once things are quiet, and reaches
 * Stripe, with the Salesforce target synced; returns the sync view.
 */
async function editHolds(s: TwoWay, id: string, stripeId: string, phone: string) {
  const after = await rowWhen(s, id, (r) => r.phone === phone, 20_000);
  assert.is(after?.phone, phone, "the person's edit reached Postgres");
  await quiet(s, 3_000);
  assert.is(accountsFor(s, id)[0]?.Phone, phone, 'and stays in Salesforce');
  assert.is((await row(s, id))?.phone, phone);
  assert.is(
    ((await s.stripe.customers.retrieve(stripeId)) as Stripe.Customer).phone,
    phone,
    'and reached Stripe',
  );
  const view = await s.api.sync(id);
  assert.is(view.targets.salesforce?.status, 'synced', JSON.stringify(view.targets.salesforce));
  return view;
}

/** Upserts, one record or a Collections request: what rtws's pushes to Salesforce are. */
const UPSERTS = /\/sobjects\/|\/composite\/sobjects/;

test('a push decided before the crash never overwrites a later edit in Salesforce', async ({
  s,
}) => {
  const sf = s.sf!;
  const before = await holdsEvery(s);
  const { id } = await s.api.create({ name: 'Grace', email: 'grace@example.com', phone: '+1 1' });
  const stripeId = await linked(s, id);
  const accountId = await salesforceLinked(s, id);
  await quiet(s, 500);

  // Our push of the API edit meets failures and stays pending.
  sf.injectFault({ method: 'PATCH', path: UPSERTS, errorCode: 'SERVER_UNAVAILABLE', count: 1e6 });
  await s.api.patch(id, { phone: '+1 2' });
  const apiSecond = Math.floor(Date.now() / 1000);
  const waiting = await eventually(
    () => s.api.sync(id),
    (v) => v.targets.salesforce?.last_error?.failure === 'transient',
    20_000,
  );
  assert.is(waiting.targets.salesforce?.last_error?.failure, 'transient', 'the push was refused');
  await s.killWorker();
  sf.clearFaults();

  // Down: a person changes the same field, later than our edit.
  while (Math.floor(Date.now() / 1000) <= apiSecond + 1) await sleep(100);
  editInSalesforce(s, accountId, { phone: '+1 3' });
  s.spawnWorker();
  await holdsEvery(s, before);

  await editHolds(s, id, stripeId, '+1 3');
  const recorded = await s.o.sql<{ winner: string; target: string | null }[]>`
    SELECT winner, target FROM conflicts WHERE customer_id = ${id} AND field = 'phone'`;
  assert.ok(
    recorded.some((c) => c.winner === 'salesforce'),
    `the edit on both sides is recorded with Salesforce winning: ${JSON.stringify(recorded)}`,
  );
});

test("a create whose answer was lost is not resent over a person's edit of the new record", async ({
  s,
}) => {
  const sf = s.sf!;
  // The create lands and its answer is lost; the resends then fail until the person has edited.
  sf.injectFault({
    method: 'PATCH',
    path: UPSERTS,
    errorCode: 'SERVER_UNAVAILABLE',
    phase: 'after',
  });
  sf.injectFault({ method: 'PATCH', path: UPSERTS, errorCode: 'SERVER_UNAVAILABLE', count: 1e6 });
  const { id } = await s.api.create({ name: 'Ada', email: 'ada.lost@example.com', phone: '+1 5' });
  const stripeId = await linked(s, id);
  const landed = await eventually(
    async () => accountsFor(s, id),
    (a) => a.length === 1,
    20_000,
  );
  assert.is(landed.length, 1, 'the create landed in Salesforce');
  const waiting = await s.api.sync(id);
  assert.not.ok(waiting.links.salesforce, 'its answer was lost: not linked yet');

  editInSalesforce(s, String(landed[0]!.Id), { phone: '+1 6' });
  // The read of the edit comes before the resend.
  await sleep(2_500);
  sf.clearFaults();

  const view = await editHolds(s, id, stripeId, '+1 6');
  assert.is(view.links.salesforce, landed[0]!.Id, 'linked to the record the create made');
});

test.run();
