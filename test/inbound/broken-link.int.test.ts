// Only an explicit deletion deletes. A Stripe customer that is simply not in the account (a key of
// another account, an account emptied) answers 404: the link is reported broken, and the customer
// stays in Postgres and in Salesforce. A deletion in the account is still a deletion.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { eventually } from '../harness/stream.ts';
import { linked, quiet, row, rowWhen, twoWay, type TwoWay } from './stack.ts';

const test = suite<{ s: TwoWay }>('a 404 is a broken link, not a deletion');
test.before(async (ctx) => {
  ctx.s = await twoWay({ salesforce: true });
});
test.after(async (ctx) => {
  await ctx.s?.close();
});

test('a customer missing from the account ends unlinked; nothing is deleted anywhere', async ({
  s,
}) => {
  const { id } = await s.api.create({ name: 'Kept', email: 'kept@example.com' });
  const stripeId = await linked(s, id);
  await quiet(s, 300);
  // The account rtws talks to no longer has it: the emulator forgets everything.
  s.emu.reset();
  await s.api.patch(id, { name: 'Kept, edited' });
  const view = await eventually(
    () => s.api.sync(id),
    (v) => v.targets.stripe?.status === 'unlinked',
    20_000,
  );
  assert.is(view.targets.stripe?.status, 'unlinked');
  assert.match(view.targets.stripe?.last_error?.reason ?? '', new RegExp(stripeId));
  assert.match(view.targets.stripe?.last_error?.reason ?? '', /nothing was deleted/);
  await quiet(s, 1_000);
  const kept = await row(s, id);
  assert.is(kept?.deleted_at, null, 'the customer is still in the catalogue');
  assert.is(kept?.name, 'Kept, edited');
  const sf = await eventually(
    () => s.api.sync(id),
    (v) => v.targets.salesforce?.synced_version === kept?.version,
  );
  assert.is(sf.targets.salesforce?.status, 'synced', 'and Salesforce still has it, edited');
  const dlq = await fetch(`${s.rtws.url}/dlq`, {
    headers: { authorization: `Bearer ${s.t.env.RTWS_API_TOKEN}` },
  });
  const body = (await dlq.json()) as { data: { reason: string }[] };
  assert.ok(
    body.data.some((l) => l.reason.includes(stripeId)),
    'the broken link is reported in the DLQ',
  );
});

test('a customer deleted in the account is deleted here too', async ({ s }) => {
  const { id } = await s.api.create({ name: 'Gone', email: 'gone@example.com' });
  const stripeId = await linked(s, id);
  await quiet(s, 300);
  // Deleted in Stripe, its webhook held back: the 404 on our next update is confirmed as a
  // deletion by the retrieve (or by the webhook, whichever comes first; both are explicit).
  s.emu.pauseWebhooks();
  await s.stripe.customers.del(stripeId);
  await s.api.patch(id, { name: 'Gone, edited' });
  const gone = await rowWhen(s, id, (r) => r.deleted_at !== null, 20_000);
  assert.ok(gone?.deleted_at, 'the deletion in the account reached the catalogue');
  s.emu.resumeWebhooks();
});

test.run();
