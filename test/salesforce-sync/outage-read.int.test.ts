// rtws's worker is down while people edit and delete linked records in Salesforce; once it is
// back, each edit reaches Postgres once, with its values, and each deletion is read: (a) with
// Change Data Capture on and the events still retained, and (b) after the emulator forgot its
// events, as after an outage longer than their retention. Either way the worker reads from its
// watermark in Postgres: its subscription asks for new events only, so nothing depends on the
// events it missed.
//
// The api and publisher run in this process, the worker in a child process, stopped for each
// outage and started again with the same RTWS_WORKER_ID: SIGKILLed for (a), so that it takes its
// partitions back only once the dead run's calls are over (11 s), and SIGTERMed for (b), so that
// it hands them back as it stops and takes them at once.
//
// Reads every 2 s: getDeleted counts whole minutes, so a deletion is read by the first read after
// its minute has passed, up to a minute after it was made.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  startSalesforceEmulator,
  type SalesforceEmulator,
} from '../../adapters/emulators/salesforce/index.ts';
import { startStripeEmulator, type StripeEmulator } from '../../adapters/emulators/stripe/index.ts';
import type { Env } from '../../core/config.ts';
import type { Rtws } from '../../deploy/rtws.ts';
import { spawnRtws, type RtwsProcess } from '../harness/process.ts';
import { startTestRtws, testEnvironment, type TestEnvironment } from '../harness/rtws.ts';
import { eventually, readStream } from '../harness/stream.ts';
import { SyncApi, type CustomerBody } from './api.ts';
import { stripeCustomersByRtwsId } from './stripe-view.ts';
import { emulatorEnv } from './world.ts';

interface Stack {
  t: TestEnvironment;
  stripe: StripeEmulator;
  sf: SalesforceEmulator;
  rtws: Rtws;
  api: SyncApi;
  workerEnv: Env;
  worker?: RtwsProcess;
}

/** What a person changes in Salesforce, and what the customer must hold in Postgres after. */
interface Edit {
  readonly fields: Record<string, string>;
  readonly expect: { name?: string; phone?: string };
}

const WORKER_ID = 'outage-read-worker';
const OUTAGE_MS = 2_000;

const ctx: { s?: Stack; ids: Map<string, string>; writesBefore?: number; deletedAt: number[] } = {
  ids: new Map(),
  deletedAt: [],
};
const test = suite("Salesforce sync: person edits made while rtws's worker is down");

const customer = (name: string, i: number): CustomerBody => ({
  name,
  email: `outage.read.${i}@example.com`,
  phone: `+1 555 01${String(i).padStart(2, '0')}`,
  address: null,
  metadata: {},
});

/** Per outage: three linked records edited (one field, another, both) and one deleted. */
const EDITS: Record<'a' | 'b', [string, Edit][]> = {
  a: [
    ['a1', { fields: { Name: 'A1 Renamed There' }, expect: { name: 'A1 Renamed There' } }],
    ['a2', { fields: { Phone: '+44 20 7946 0002' }, expect: { phone: '+44 20 7946 0002' } }],
    [
      'a3',
      {
        fields: { Name: 'A3 Both There', Phone: '+44 20 7946 0003' },
        expect: { name: 'A3 Both There', phone: '+44 20 7946 0003' },
      },
    ],
  ],
  b: [
    ['b1', { fields: { Name: 'B1 Renamed There' }, expect: { name: 'B1 Renamed There' } }],
    ['b2', { fields: { Phone: '+33 1 00 00 00 02' }, expect: { phone: '+33 1 00 00 00 02' } }],
    [
      'b3',
      {
        fields: { Name: 'B3 Both There', Phone: '+33 1 00 00 00 03' },
        expect: { name: 'B3 Both There', phone: '+33 1 00 00 00 03' },
      },
    ],
  ],
};
const DELETED = { a: 'a4', b: 'b4' } as const;
const UNTOUCHED = 'c0';
const LABELS = ['a1', 'a2', 'a3', 'a4', 'b1', 'b2', 'b3', 'b4', UNTOUCHED];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stack = () => ctx.s!;
const idOf = (label: string) => ctx.ids.get(label)!;

async function row(id: string) {
  const [r] = await stack().rtws.sql<
    { name: string; phone: string | null; version: string; deleted_at: Date | null }[]
  >`SELECT name, phone, version, deleted_at FROM customers WHERE id = ${id}`;
  return { ...r!, version: Number(r!.version) };
}

/** Changes from Salesforce applied to the customer in Postgres (the inbox records each). */
async function appliedFromSalesforce(id: string): Promise<number> {
  const [r] = await stack().rtws.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM inbox WHERE customer_id = ${id} AND source = 'salesforce'`;
  return r!.n;
}

/** The customer's messages on its subject, by type; captured changes by their origin. */
async function messagesOf(id: string): Promise<Map<string, number>> {
  const s = stack();
  const stored = await readStream(
    s.rtws.nats,
    s.t.names.streams.changes,
    s.t.names.customerSubject(id),
  );
  const counts = new Map<string, number>();
  for (const { message } of stored) {
    const m = message as unknown as { type: string; metadata?: { origin?: string } };
    const key = m.metadata?.origin ? `${m.type}:${m.metadata.origin}` : m.type;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** What wrote the customer, for a failure's message: its inbox rows and its captured changes. */
async function writesOf(id: string): Promise<string> {
  const s = stack();
  const inbox = await s.rtws.sql`SELECT * FROM inbox WHERE customer_id = ${id}`;
  const stored = await readStream(
    s.rtws.nats,
    s.t.names.streams.changes,
    s.t.names.customerSubject(id),
  );
  const changes = stored.map(({ message }) => JSON.stringify(message).slice(0, 400));
  return `; inbox: ${JSON.stringify(inbox)}; messages: ${changes.join(' | ')}`;
}

const WRITES = /^(sobject|collections)\.(create|update|upsert|delete)$/;

/** Writes through Salesforce's API so far, as the emulator counts them. */
function salesforceWrites(): number {
  return Object.entries(stack().sf.stats().callsByEndpoint)
    .filter(([endpoint]) => WRITES.test(endpoint))
    .reduce((n, [, calls]) => n + calls, 0);
}

const accountOf = (label: string) =>
  stack()
    .sf.records('Account')
    .find((r) => r.Rtws_Id__c === idOf(label));

function startWorker(): void {
  const s = stack();
  s.worker = spawnRtws(s.workerEnv);
}

/** SIGKILL, a crash: nothing handed back. SIGTERM, a stop: its leases are handed back at once. */
async function stopWorker(signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
  const code = await stack().worker?.kill(signal);
  assert.is(code, signal === 'SIGKILL' ? null : 0, `the worker ended by ${signal}`);
}

/** The records of `outage` edited and one deleted, as people do while the worker is down. */
function editInSalesforce(outage: 'a' | 'b'): void {
  const { sf } = stack();
  for (const [label, edit] of EDITS[outage])
    sf.editAsPerson('Account', String(accountOf(label)!.Id), edit.fields);
  sf.deleteAsPerson('Account', String(accountOf(DELETED[outage])!.Id));
  ctx.deletedAt.push(Date.now());
}

/** Nothing of an outage's edits reached Postgres while the worker was down. */
async function notYetApplied(outage: 'a' | 'b'): Promise<void> {
  for (const [label] of EDITS[outage]) {
    const r = await row(idOf(label));
    assert.is(r.version, 1, `${label}: nothing applied while the worker is down`);
  }
}

/** Every edit of the outage in Postgres; returns how long after the restart they all were. */
async function editsArrive(outage: 'a' | 'b', restartedAt: number): Promise<number> {
  const holds = async () => {
    for (const [label, { expect }] of EDITS[outage]) {
      const r = await row(idOf(label));
      if (expect.name !== undefined && r.name !== expect.name) return false;
      if (expect.phone !== undefined && r.phone !== expect.phone) return false;
    }
    return true;
  };
  const ok = await eventually(holds, (v) => v, 30_000, 100);
  assert.ok(
    ok,
    `(${outage}) the edits reached Postgres:\n${stack().worker?.output().slice(-2000)}`,
  );
  for (const [label, { expect }] of EDITS[outage]) {
    const r = await row(idOf(label));
    if (expect.name !== undefined) assert.is(r.name, expect.name, `${label}: name`);
    if (expect.phone !== undefined) assert.is(r.phone, expect.phone, `${label}: phone`);
  }
  return Date.now() - restartedAt;
}

test.before(async () => {
  const t = await testEnvironment();
  const stops: (() => Promise<unknown>)[] = [() => t.cleanup()];
  try {
    const stripe = await startStripeEmulator({ port: 0, searchLagMs: 0 });
    stops.push(() => stripe.close());
    const sf = await startSalesforceEmulator({ port: 0 });
    stops.push(() => sf.close());
    const env: Env = {
      ...emulatorEnv(stripe, sf),
      RTWS_SALESFORCE_CDC: 'true',
      RTWS_SALESFORCE_POLL_S: '2',
    };
    const rtws = await startTestRtws(t, { ...env, RTWS_ROLES: 'api,publisher' });
    ctx.s = {
      t,
      stripe,
      sf,
      rtws,
      api: new SyncApi(rtws.url!, rtws.apiToken!),
      workerEnv: { ...t.env, ...env, RTWS_ROLES: 'worker', RTWS_WORKER_ID: WORKER_ID },
    };
  } catch (err) {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    throw err;
  }
});

test.after(async () => {
  const s = ctx.s;
  if (!s) return;
  await s.worker?.kill('SIGKILL').catch(() => {});
  await s.rtws.close().catch(() => {});
  await s.sf.close().catch(() => {});
  await s.stripe.close().catch(() => {});
  await s.t.cleanup();
});

test('before the outages: the customers are linked, and the reader has its watermark', async () => {
  const s = stack();
  startWorker();
  for (const [i, label] of LABELS.entries())
    ctx.ids.set(label, await s.api.create(customer(`Outage ${label}`, i)));
  const linked = await eventually(
    () => Promise.all(LABELS.map((l) => s.api.sync(idOf(l)))),
    (states) => states.every((x) => x.targets?.salesforce?.status === 'synced'),
    30_000,
    100,
  );
  assert.ok(
    linked.every((x) => x.targets?.salesforce?.status === 'synced'),
    JSON.stringify(linked.map((x) => x.targets?.salesforce)),
  );
  // The first read of a deployment starts from now: only edits after it are the reader's.
  const [watermark] = await eventually(
    () => s.rtws.sql`SELECT watermark FROM catchup_watermarks WHERE source LIKE 'salesforce:%'`,
    (rows) => rows.length === 1,
    15_000,
    100,
  );
  assert.ok(watermark, 'the reader stored its watermark');
  ctx.writesBefore = salesforceWrites();
});

test('(a) with change events on: the edits made while the worker was down arrive once it is back', async () => {
  const s = stack();
  await stopWorker('SIGKILL');
  editInSalesforce('a');
  await sleep(OUTAGE_MS);
  await notYetApplied('a');
  assert.ok(s.sf.stats().events.retainedEvents >= 4, 'the emulator keeps their change events');
  const restartedAt = Date.now();
  startWorker();
  const ms = await editsArrive('a', restartedAt);
  console.log(`  (a) the edits were in Postgres ${ms} ms after the worker started again`);
});

test('(b) with the events forgotten (past retention): the edits still arrive, read from the watermark', async () => {
  const s = stack();
  await stopWorker('SIGTERM');
  editInSalesforce('b');
  await sleep(OUTAGE_MS);
  s.sf.forgetChangeEvents();
  assert.is(s.sf.stats().events.retainedEvents, 0, 'no event is left to replay');
  await notYetApplied('b');
  const restartedAt = Date.now();
  startWorker();
  const ms = await editsArrive('b', restartedAt);
  console.log(`  (b) the edits were in Postgres ${ms} ms after the worker started again`);
});

test('the deletions of both outages are read: each record unlinked once, nothing deleted', async () => {
  const s = stack();
  const gone = Object.values(DELETED);
  // A deletion is read once its minute has passed, by the next read.
  const states = await eventually(
    () => Promise.all(gone.map((l) => s.api.sync(idOf(l)))),
    (all) => all.every((x) => x.targets?.salesforce?.status === 'unlinked'),
    90_000,
    250,
  );
  for (const [i, label] of gone.entries()) {
    const state = states[i]!;
    assert.is(state.targets?.salesforce?.status, 'unlinked', `${label}: ${JSON.stringify(state)}`);
    assert.is(state.deleted, false, `${label}: not deleted`);
    assert.is((await row(idOf(label))).deleted_at, null, `${label}: not deleted in Postgres`);
    assert.is(state.targets?.stripe?.status, 'synced', `${label}: Stripe untouched`);
    const links = await s.rtws.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM customer_links
      WHERE customer_id = ${idOf(label)} AND target = 'salesforce'`;
    assert.is(links[0]!.n, 0, `${label}: the link is gone`);
    const archived = await s.rtws.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM customer_links_archive
      WHERE customer_id = ${idOf(label)} AND target = 'salesforce'`;
    assert.is(archived[0]!.n, 1, `${label}: archived once`);
    assert.is(
      (await messagesOf(idOf(label))).get('SalesforceRecordMissing'),
      1,
      `${label}: handed to its actor once`,
    );
  }
  console.log(
    `  the deletions were read ${Date.now() - Math.max(...ctx.deletedAt)} ms after the last one`,
  );
});

test('exactly once: one Postgres write per edit, none for the others, nothing back to Salesforce', async () => {
  const s = stack();
  // A few more reads pass over every record again (each read starts a minute and more back).
  await sleep(3_000);
  for (const [label, edit] of [...EDITS.a, ...EDITS.b]) {
    const id = idOf(label);
    const r = await row(id);
    assert.is(
      r.version,
      2,
      `${label}: one Postgres write${r.version === 2 ? '' : await writesOf(id)}`,
    );
    if (edit.expect.name !== undefined) assert.is(r.name, edit.expect.name, `${label}: name`);
    if (edit.expect.phone !== undefined) assert.is(r.phone, edit.expect.phone, `${label}: phone`);
    assert.is(await appliedFromSalesforce(id), 1, `${label}: one change applied`);
    assert.is(
      (await messagesOf(id)).get('CustomerUpdated:salesforce'),
      1,
      `${label}: one captured change with origin salesforce`,
    );
  }
  for (const label of [UNTOUCHED, ...Object.values(DELETED)]) {
    const r = await row(idOf(label));
    assert.is(r.version, 1, `${label}: no Postgres write`);
    assert.is(await appliedFromSalesforce(idOf(label)), 0, `${label}: nothing applied`);
  }
  assert.is(salesforceWrites(), ctx.writesBefore, 'no write back to Salesforce');
  // And on to Stripe, once each.
  const inStripe = await eventually(
    () => stripeCustomersByRtwsId(s.stripe),
    (byId) =>
      [...EDITS.a, ...EDITS.b].every(([label, { expect }]) => {
        const c = byId.get(idOf(label))?.[0];
        return (
          (expect.name === undefined || c?.name === expect.name) &&
          (expect.phone === undefined || c?.phone === expect.phone)
        );
      }),
    15_000,
    200,
  );
  for (const label of LABELS)
    assert.is(inStripe.get(idOf(label))?.length, 1, `${label}: one Stripe customer`);
  for (const [label, { expect }] of [...EDITS.a, ...EDITS.b]) {
    const c = inStripe.get(idOf(label))![0]!;
    if (expect.name !== undefined) assert.is(c.name, expect.name, `${label}: Stripe name`);
    if (expect.phone !== undefined) assert.is(c.phone, expect.phone, `${label}: Stripe phone`);
  }
});

test.run();
