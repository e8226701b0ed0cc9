// Postgres restored from a real backup (pg_dump, then pg_restore over the live database) while
// Stripe and the actors (in KV) keep what was synced after the backup. rtws repairs the catalogue:
// - a row edited since the restore is brought forward at once, keeping the edit, which then
//   reaches Stripe;
// - a reconciliation brings the untouched rows forward, deletes again a customer deleted after
//   the backup, and inserts again one created after it;
// - afterwards each row's edits sync as before.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { authHeaders } from '../harness/rtws.ts';
import { eventually, waitFor } from '../harness/stream.ts';
import { linked, quiet, row, rowWhen, twoWay, type TwoWay } from './stack.ts';

const BIN = '/usr/lib/postgresql/15/bin';
const tools = existsSync(join(BIN, 'pg_dump')) && existsSync(join(BIN, 'pg_restore'));

const test = suite<{ s: TwoWay; dir: string }>('a database restored from a backup');
test.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'rtws-backup-'));
  ctx.s = await twoWay({ env: { RTWS_CATCHUP_INTERVAL_S: '3600' } });
});
test.after(async (ctx) => {
  await ctx.s?.close();
  rmSync(ctx.dir, { recursive: true, force: true });
});

interface Reconciliation {
  id: number;
  state: string;
  counts: Record<string, number>;
}

async function reconcile(s: TwoWay): Promise<Reconciliation> {
  const headers = { ...authHeaders(), 'content-type': 'application/json' };
  const res = await fetch(`${s.rtws.url}/reconciliations`, { method: 'POST', headers, body: '{}' });
  const started = (await res.json()) as Reconciliation;
  assert.is(res.status, 202, JSON.stringify(started));
  const done = await eventually(
    async () =>
      (await (
        await fetch(`${s.rtws.url}/reconciliations/${started.id}`, { headers: authHeaders() })
      ).json()) as Reconciliation,
    (r) => r.state !== 'running',
    60_000,
  );
  assert.is(done.state, 'done', JSON.stringify(done));
  return done;
}

const stripeName = (s: TwoWay, stripeId: string, want: string) =>
  eventually(
    () => s.stripe.customers.retrieve(stripeId),
    (c) => !c.deleted && c.name === want,
    15_000,
  );

test('rows behind the actors are brought forward; edits since the restore are kept', async ({
  s,
  dir,
}) => {
  if (!tools) {
    console.log(`skipped: pg_dump and pg_restore are not in ${BIN}`);
    return;
  }
  const { id: renamed } = await s.api.create({ name: 'Renamed', email: 'renamed@example.com' });
  const { id: edited } = await s.api.create({ name: 'Edited', email: 'edited@example.com' });
  const { id: gone } = await s.api.create({ name: 'Gone', email: 'gone@example.com' });
  const renamedId = await linked(s, renamed);
  const editedId = await linked(s, edited);
  const goneId = await linked(s, gone);
  await quiet(s, 500);
  const backup = join(dir, 'catalogue.dump');
  execFileSync(join(BIN, 'pg_dump'), ['-Fc', '-f', backup, s.t.db.url]);

  // After the backup: renames, a deletion, a new customer; all synced to Stripe.
  await s.api.patch(renamed, { name: 'Renamed after the backup' });
  await s.api.patch(edited, { name: 'Edited after the backup', phone: '+1 555 0100' });
  const del = await fetch(`${s.rtws.url}/customers/${gone}`, {
    method: 'DELETE',
    headers: { authorization: authHeaders().authorization! },
  });
  assert.ok(del.ok, await del.text());
  const { id: born } = await s.api.create({
    name: 'Born after the backup',
    email: 'born@example.com',
  });
  const bornId = await linked(s, born);
  await stripeName(s, renamedId, 'Renamed after the backup');
  await stripeName(s, editedId, 'Edited after the backup');
  await waitFor(
    () => s.stripe.customers.retrieve(goneId),
    (c) => c.deleted === true,
    15_000,
  );
  await quiet(s, 500);

  // The restore, with rtws stopped, as an operator would do it.
  await s.stopRtws();
  execFileSync(join(BIN, 'pg_restore'), [
    '--clean',
    '--if-exists',
    '--single-transaction',
    '-d',
    s.t.db.url,
    backup,
  ]);
  assert.is((await row(s, renamed))?.name, 'Renamed', 'the restore took the rename back');
  assert.is(await row(s, born), undefined, 'the restore lost the new customer');
  await s.startRtws();

  // An edit of a restored row: its version is one the actor has seen, yet it is later.
  await s.api.patch(edited, { email: 'edited.since@example.com' });
  const forward = await rowWhen(s, edited, (r) => r.origin === 'restore', 15_000);
  assert.is(forward?.name, 'Edited after the backup', 'brought forward');
  assert.is(forward?.phone, '+1 555 0100', 'brought forward');
  assert.is(forward?.email, 'edited.since@example.com', 'the edit since the restore is kept');
  const there = await eventually(
    () => s.stripe.customers.retrieve(editedId),
    (c) => !c.deleted && c.email === 'edited.since@example.com',
    15_000,
  );
  assert.is(there.deleted ? null : there.email, 'edited.since@example.com', 'and reaches Stripe');

  // The rows nobody touched: a reconciliation.
  const r = await reconcile(s);
  assert.ok((r.counts.catalogue_behind ?? 0) >= 3, JSON.stringify(r.counts));
  const back = await rowWhen(s, renamed, (x) => x.name === 'Renamed after the backup', 15_000);
  assert.is(back?.origin, 'restore');
  const deletedAgain = await rowWhen(s, gone, (x) => x.deleted_at !== null, 15_000);
  assert.ok(deletedAgain?.deleted_at, 'deleted again');
  const reborn = await rowWhen(s, born, (x) => x.name === 'Born after the backup', 15_000);
  assert.is(reborn?.email, 'born@example.com', 'inserted again');
  assert.is(await linked(s, born), bornId, 'with its Stripe link');

  // The repaired rows sync again: their versions are past the actors'.
  await s.api.patch(renamed, { name: 'Renamed once more' });
  await stripeName(s, renamedId, 'Renamed once more');
  await s.api.patch(born, { name: 'Born, renamed' });
  await stripeName(s, bornId, 'Born, renamed');
  const orphans = await s.stripe.customers.list({ limit: 100 });
  assert.is(
    orphans.data.filter((c) => c.email === 'born@example.com').length,
    1,
    'no second Stripe customer',
  );
});

test.run();
