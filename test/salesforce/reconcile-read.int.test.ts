// The reconciliation's Salesforce phase, step by step against the emulator: a read that fails
// part-way is read again after the last record done, never taken for a finished one (which would
// report every link not met yet as deleted); a link whose record still exists is not called
// deleted; and only a record deleted in Salesforce is handed to its actor under the policy (one
// Salesforce does not know at all is a broken link: reported, and nothing is deleted). A
// value mapped from_salesforce is not compared: the catalogue never puts it back.
import * as assert from 'uvu/assert';
import { jetstream } from '@nats-io/jetstream';
import type { Connection } from 'jsforce';
import { createBackfill } from '../../adapters/postgres/backfills.ts';
import { jetStreamPublisher } from '../../adapters/jetstream/durable-publisher.ts';
import {
  reconcilePage,
  type ReconcileDeps,
  type ReconcilePage,
} from '../../deploy/wiring/backfill/reconcile.ts';
import { SALESFORCE_PHASE } from '../../deploy/wiring/backfill/reconcile-salesforce.ts';
import { readStream } from '../harness/stream.ts';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';
import type { SalesforceTarget } from '../../adapters/salesforce/target.ts';
import { DEFAULT_ACCOUNT_FIELD_MAP } from '../../adapters/salesforce/mapper.ts';
import { TARGET, salesforceSuite } from './fixtures.ts';

const test = salesforceSuite('reconciliation: the Salesforce phase', 30_000);
let t: TestEnvironment;
let o: Observer;
test.before(async () => {
  t = await testEnvironment();
  o = await observe(t);
});
test.after(async () => {
  await o?.close();
  await t?.cleanup();
});

const N = 450;

/** N catalogue customers, as rows from before capture, each with its Account and its link. */
async function seed(conn: Connection): Promise<{ id: string; sf: string }[]> {
  const rows = await o.sql.begin(async (tx) => {
    await tx`SET LOCAL session_replication_role = replica`;
    return tx<{ id: string; name: string }[]>`
      INSERT INTO customers (name) SELECT 'Read ' || i FROM generate_series(1, ${N}) AS i
      RETURNING id, name`;
  });
  const out: { id: string; sf: string }[] = [];
  for (let i = 0; i < rows.length; i += 200) {
    const batch = rows.slice(i, i + 200);
    const made = await conn.sobject('Account').create(
      batch.map((r) => ({ Name: r.name, Rtws_Id__c: r.id })),
      { allOrNone: true },
    );
    made.forEach((m, j) => out.push({ id: batch[j]!.id, sf: m.id! }));
  }
  for (const { id, sf } of out)
    await o.sql`
      INSERT INTO customer_links (customer_id, target, external_id) VALUES (${id}, 'salesforce', ${sf})
      ON CONFLICT (customer_id, target) DO UPDATE SET external_id = EXCLUDED.external_id`;
  return out;
}

test('a read that fails part-way is read again; a deleted record is handed over, an unknown one reported', async ({
  emulator,
  conn,
}) => {
  await o.sql`TRUNCATE customer_links, reconcile_seen, reconcile_differences`;
  const seeded = await seed(conn);
  const deleted = seeded[7]!;
  emulator.deleteAsPerson('Account', deleted.sf);
  // Linked to a record Salesforce has never had (or purged, or hides from rtws's user).
  const [unknown] = await o.sql<{ id: string }[]>`
    INSERT INTO customers (name) VALUES ('Unknown There') RETURNING id`;
  const unknownSf = '001ZZZZZZZZZZZZZZZ';
  await o.sql`
    INSERT INTO customer_links (customer_id, target, external_id)
    VALUES (${unknown!.id}, 'salesforce', ${unknownSf})`;
  const { id: runId } = await createBackfill(o.sql, 'reconcile', {});
  let failNext = false;
  const connection = async () => {
    const more = conn.queryMore.bind(conn);
    conn.queryMore = (locator: string, options?: object) => {
      if (failNext) {
        failNext = false;
        throw new Error('INVALID_QUERY_LOCATOR: invalid query locator');
      }
      return more(locator, options as never);
    };
    return conn;
  };
  const deps: ReconcileDeps = {
    sql: o.sql,
    publisher: jetStreamPublisher(jetstream(o.nats)),
    names: t.names,
    salesforce: { connection, target: TARGET, onRemoteDelete: 'unlink', batchSize: 200 },
  };
  const pages: ReconcilePage[] = [];
  let cursor: string | null = SALESFORCE_PHASE;
  let failures = 0;
  for (let step = 0; cursor !== null && step < 20; step++) {
    if (step === 1) failNext = true;
    try {
      const page: ReconcilePage = await reconcilePage(deps, runId, cursor);
      pages.push(page);
      cursor = page.more ? page.cursor : null;
    } catch (err) {
      assert.match(String(err), /INVALID_QUERY_LOCATOR/);
      failures++;
    }
  }
  assert.is(failures, 1, 'the second page failed once, and was read again');
  const decisions = pages.flatMap((p) => p.decisions);
  const count = (d: string) => decisions.filter((x) => x.decision === d).length;
  assert.is(count('equal'), N - 1, 'every live record compared once');
  assert.is(
    decisions.filter((x) => x.reason === 'the same in both').length,
    N - 1,
    'each by the read itself, none left to be found by its id afterwards',
  );
  const ids = (d: string) => decisions.filter((x) => x.decision === d).map((x) => x.id);
  assert.equal(ids('deleted_in_salesforce'), [deleted.sf]);
  assert.equal(ids('missing_in_salesforce'), [unknownSf]);
  const links = await o.sql`
    SELECT 1 FROM customer_links WHERE customer_id = ${deleted.id} AND target = 'salesforce'`;
  assert.is(links.length, 0, 'its link is archived (unlink)');
  const kept = await o.sql`
    SELECT 1 FROM customer_links WHERE customer_id = ${unknown!.id} AND target = 'salesforce'`;
  assert.is(kept.length, 1, 'the unknown one keeps its link: a broken link deletes nothing');
  const told = await readStream(
    o.nats,
    t.names.streams.changes,
    t.names.customerHistoryFilter(unknown!.id),
  );
  assert.equal(told, [], 'and its actor is told nothing');
  const deletedTold = await readStream(
    o.nats,
    t.names.streams.changes,
    t.names.customerHistoryFilter(deleted.id),
  );
  assert.equal(
    deletedTold.map((c) => (c.message as unknown as { type: string }).type),
    ['SalesforceRecordMissing'],
    "the deleted one's actor is told",
  );
});

/** One whole reconciliation of the Salesforce phase: the decisions it took. */
async function reconcileOnce(conn: Connection, target: SalesforceTarget) {
  await o.sql`UPDATE backfills SET state = 'done' WHERE state = 'running'`;
  const { id: runId } = await createBackfill(o.sql, 'reconcile', {});
  const deps: ReconcileDeps = {
    sql: o.sql,
    publisher: jetStreamPublisher(jetstream(o.nats)),
    names: t.names,
    salesforce: { connection: () => Promise.resolve(conn), target, onRemoteDelete: 'unlink' },
  };
  const decisions: ReconcilePage['decisions'][number][] = [];
  let cursor: string | null = SALESFORCE_PHASE;
  for (let step = 0; cursor !== null && step < 10; step++) {
    const page: ReconcilePage = await reconcilePage(deps, runId, cursor);
    decisions.push(...page.decisions);
    cursor = page.more ? page.cursor : null;
  }
  return decisions;
}

test('a value mapped from_salesforce that differs is not put back', async ({ conn }) => {
  await o.sql`TRUNCATE customer_links, reconcile_seen, reconcile_differences`;
  const [row] = await o.sql.begin(async (tx) => {
    await tx`SET LOCAL session_replication_role = replica`;
    return tx<{ id: string }[]>`
      INSERT INTO customers (name, phone) VALUES ('Phone Kept There', NULL) RETURNING id`;
  });
  const id = row!.id;
  const made = await conn
    .sobject('Account')
    .create({ Name: 'Phone Kept There', Phone: '+1 555 0199', Rtws_Id__c: id });
  await o.sql`
    INSERT INTO customer_links (customer_id, target, external_id)
    VALUES (${id}, 'salesforce', ${made.id!})`;
  const decisionOn = (d: ReconcilePage['decisions']) => d.find((x) => x.id === made.id);

  const both = decisionOn(await reconcileOnce(conn, TARGET));
  assert.is(both?.decision, 'differs', 'mapped both ways, the phone is put back');
  assert.match(both?.reason ?? '', /^phone differ/);
  const fromSalesforce: SalesforceTarget = {
    ...TARGET,
    fieldMap: {
      ...DEFAULT_ACCOUNT_FIELD_MAP,
      Phone: { canonical: 'phone', direction: 'from_salesforce' },
    },
  };
  const kept = decisionOn(await reconcileOnce(conn, fromSalesforce));
  assert.is(kept?.decision, 'equal', JSON.stringify(kept));
});

test.run();
