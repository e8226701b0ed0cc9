// A change made in Stripe reaches every other target: a dashboard edit, a Stripe-born customer and
// a deletion in Stripe all land in Salesforce, while Stripe itself gets no write back.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Connection } from 'jsforce';
import { stripeBornId } from '../../adapters/postgres/stripe-customer-id.ts';
import { eventually, waitFor } from '../harness/stream.ts';
import { accountsOf, linked, quiet, rowWhen, salesforceOf, twoWay, type TwoWay } from './stack.ts';

const test = suite<{ s: TwoWay; conn: Connection }>('Stripe changes fan out to Salesforce');
test.before(async (ctx) => {
  ctx.s = await twoWay({ salesforce: true });
  ctx.conn = await salesforceOf(ctx.s);
});
test.after(async (ctx) => {
  await ctx.s?.close();
});

test('a dashboard edit reaches Salesforce, and Stripe gets no write back', async ({ s, conn }) => {
  const { id } = await s.api.create({ name: 'Fan', email: 'fan@example.com' });
  const stripeId = await linked(s, id);
  await waitFor(
    () => accountsOf(conn, id),
    (a) => a[0]?.Name === 'Fan',
    10_000,
  );
  await quiet(s, 300);
  s.emu.clearRequests();
  await s.stripe.customers.update(stripeId, { name: 'Fan Out', email: 'out@example.com' });
  await rowWhen(s, id, (r) => r.name === 'Fan Out');
  const sf = await eventually(
    () => accountsOf(conn, id),
    (a) => a[0]?.Name === 'Fan Out',
    10_000,
  );
  assert.equal(sf, [{ Name: 'Fan Out', Rtws_Email__c: 'out@example.com' }]);
  await quiet(s);
  const ours = s.emu.requests({ method: 'POST', path: `/v1/customers/${stripeId}` });
  assert.is(ours.length, 1, 'only the dashboard edit itself wrote to Stripe');
});

test('a Stripe-born customer and its deletion reach Salesforce', async ({ s, conn }) => {
  const c = await s.stripe.customers.create({ name: 'Born There', email: 'born@there.dev' });
  const id = stripeBornId(c.id);
  const sf = await eventually(
    () => accountsOf(conn, id),
    (a) => a.length === 1,
    10_000,
  );
  assert.is(sf[0]?.Name, 'Born There');
  await s.stripe.customers.del(c.id);
  await rowWhen(s, id, (r) => r.deleted_at !== null);
  const gone = await eventually(
    () => accountsOf(conn, id),
    (a) => a.length === 0,
    10_000,
  );
  assert.equal(gone, []);
});

test.run();
