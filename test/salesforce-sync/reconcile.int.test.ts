// Reconciliation with Salesforce while it is only a target (RTWS_SALESFORCE_POLL_S=0): a field a person edited in Salesforce
// is put back and recorded as a conflict the catalogue won ("salesforce is a target"); a record
// deleted there follows RTWS_SALESFORCE_ON_REMOTE_DELETE: unlinked by default (the link archived,
// nothing deleted or recreated), or upserted again under `recreate`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { authHeaders } from '../harness/rtws.ts';
import { eventually, waitFor } from '../harness/stream.ts';
import { linked, quiet, twoWay, type TwoWay } from '../inbound/stack.ts';

const test = suite<{ s: TwoWay }>('reconciliation with Salesforce');
test.before(async (ctx) => {
  ctx.s = await twoWay({
    salesforce: true,
    env: { RTWS_CATCHUP_INTERVAL_S: '3600', RTWS_SALESFORCE_POLL_S: '0' },
  });
});
test.after(async (ctx) => {
  await ctx.s?.close();
});

interface Reconciliation {
  id: number;
  state: string;
  counts: Record<string, number>;
  differing_fields: Record<string, Record<string, number>>;
}

async function reconcile(s: TwoWay): Promise<Reconciliation> {
  const headers = { ...authHeaders(), 'content-type': 'application/json' };
  const res = await fetch(`${s.rtws.url}/reconciliations`, { method: 'POST', headers, body: '{}' });
  assert.is(res.status, 202);
  const { id } = (await res.json()) as Reconciliation;
  const done = await eventually(
    async () =>
      (await (
        await fetch(`${s.rtws.url}/reconciliations/${id}`, { headers: authHeaders() })
      ).json()) as Reconciliation,
    (r) => r.state !== 'running',
    60_000,
  );
  assert.is(done.state, 'done', JSON.stringify(done));
  return done;
}

const record = (s: TwoWay, id: string) => s.sf!.records('Account').find((r) => r.Rtws_Id__c === id);

test('an edit made in Salesforce is put back; a deleted record is reported', async ({ s }) => {
  const ids: string[] = [];
  for (const name of ['Kept', 'Edited', 'Deleted'])
    ids.push((await s.api.create({ name, email: `${name.toLowerCase()}@example.com` })).id);
  const [kept, edited, deleted] = ids as [string, string, string];
  for (const id of ids) await linked(s, id);
  await waitFor(
    async () => ids.map((id) => record(s, id)),
    (rs) => rs.every((r) => r !== undefined),
    15_000,
  );
  await quiet(s, 500);
  const ref = (id: string) => ({ field: 'Rtws_Id__c', value: id });
  s.sf!.editAsPerson('Account', ref(edited), { Name: 'Renamed in Salesforce' });
  s.sf!.deleteAsPerson('Account', ref(deleted));

  const r = await reconcile(s);
  assert.is(r.counts.differs, 1, JSON.stringify(r.counts));
  assert.is(r.counts.deleted_in_salesforce, 1);
  assert.ok((r.counts.equal ?? 0) >= 1, 'the kept one is equal (in both targets)');
  assert.equal(r.differing_fields.salesforce, { name: 1 });
  const back = await eventually(
    async () => record(s, edited),
    (x) => x?.Name === 'Edited',
    15_000,
  );
  assert.is(back?.Name, 'Edited', "the catalogue's name is put back");
  const [conflict] = await s.o.sql<
    { field: string; winner: string; reason: string; target: string }[]
  >`
    SELECT field, winner, reason, target FROM conflicts WHERE customer_id = ${edited}`;
  assert.equal(
    { ...conflict },
    {
      field: 'name',
      winner: 'postgres',
      reason: "salesforce is a target: the catalogue's value is put back",
      target: 'salesforce',
    },
  );
  const [row] = await s.o.sql<{ deleted_at: Date | null }[]>`
    SELECT deleted_at FROM customers WHERE id = ${deleted}`;
  assert.is(row?.deleted_at, null, 'a record deleted in Salesforce deletes nothing here');
  const view = await eventually(
    () => s.api.sync(deleted),
    (v) => v.targets.salesforce?.status === 'unlinked',
    15_000,
  );
  assert.is(view.targets.salesforce?.status, 'unlinked', 'unlinked, with the reason');
  const links = await s.o.sql`
    SELECT 1 FROM customer_links WHERE customer_id = ${deleted} AND target = 'salesforce'`;
  assert.is(links.length, 0, 'the link is archived');
  const archived = await s.o.sql`
    SELECT 1 FROM customer_links_archive WHERE customer_id = ${deleted} AND target = 'salesforce'`;
  assert.is(archived.length, 1);
  await quiet(s, 500);
  assert.is(record(s, deleted), undefined, 'and is not recreated');
  assert.ok(record(s, kept), 'the kept record is there');
});

const recreating = suite<{ s: TwoWay }>('reconciliation with Salesforce: recreate');
recreating.before(async (ctx) => {
  ctx.s = await twoWay({
    salesforce: true,
    env: {
      RTWS_CATCHUP_INTERVAL_S: '3600',
      RTWS_SALESFORCE_ON_REMOTE_DELETE: 'recreate',
      RTWS_SALESFORCE_POLL_S: '0',
    },
  });
});
recreating.after(async (ctx) => {
  await ctx.s?.close();
});

recreating('a record deleted in Salesforce is upserted again', async ({ s }) => {
  const { id } = await s.api.create({ name: 'Recreated', email: 'recreated@example.com' });
  await linked(s, id);
  const first = await eventually(
    async () => record(s, id),
    (r) => r !== undefined,
    15_000,
  );
  s.sf!.deleteAsPerson('Account', { field: 'Rtws_Id__c', value: id });
  const r = await reconcile(s);
  assert.is(r.counts.deleted_in_salesforce, 1, JSON.stringify(r.counts));
  const again = await eventually(
    async () => record(s, id),
    (x) => x !== undefined,
    15_000,
  );
  assert.is(again?.Name, 'Recreated');
  assert.is.not(again?.Id, first?.Id, 'a new record');
  // The link is recorded once the upsert's outcome is decided: after the record is there.
  const link = await eventually(
    async () =>
      (
        await s.o.sql<{ external_id: string }[]>`
        SELECT external_id FROM customer_links
        WHERE customer_id = ${id} AND target = 'salesforce'`
      )[0],
    (l) => l?.external_id === again?.Id,
    15_000,
  );
  assert.is(link?.external_id, again?.Id, 'linked to the new record');
});

recreating.run();

test.run();
