// An import from Stripe under the two things that happen to one in production: the process running
// it is SIGKILLed mid-walk and another takes over from the saved cursor, walking no page twice
// but the one in flight; and live API edits keep reaching Stripe while it runs, ahead of it.
//
// Sizes (see test/harness/import-stack.ts): RTWS_RESUME_CUSTOMERS (default 2,000) Stripe customers
// in the import that is killed, RTWS_LIVE_IMPORT_CUSTOMERS (default 600) in the one that live
// edits race; the defaults keep this file under two minutes on a two-core machine. The live
// edits' latency (commit -> Stripe's answer) is printed, not asserted.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { testSize } from '../harness/services.ts';
import {
  importStack,
  seedStripe,
  total,
  untilSettled,
  type ImportStack,
} from '../harness/import-stack.ts';
import { authHeaders } from '../harness/rtws.ts';
import { eventually } from '../harness/stream.ts';
import { isCreate, isListPage, type TappedRequest } from '../harness/stripe-tap.ts';

const RESUME = testSize('RTWS_RESUME_CUSTOMERS', 2_000);
const LIVE_IMPORT = testSize('RTWS_LIVE_IMPORT_CUSTOMERS', 600);
/** Live edits: half creates, half patches of customers the import has brought in. */
const LIVE_EDITS = 40;
/** The walk lists 100 customers a page. */
const PAGES = Math.ceil(RESUME / 100);

const test = suite<{ stacks: ImportStack[] }>('import from Stripe: a kill, and live traffic');

test.before((ctx) => {
  ctx.stacks = [];
});
test.after(async (ctx) => {
  // Each one, even when another fails to stop.
  for (const s of ctx.stacks ?? []) await s.close().catch((err: unknown) => console.error(err));
});

async function seedPeople(s: ImportStack, n: number, prefix: string) {
  return seedStripe(
    s.stripe,
    Array.from({ length: n }, (_, i) => ({
      name: `${prefix} ${i}`,
      email: `${prefix.toLowerCase()}${i}@example.com`,
    })),
  );
}

async function savedProgress(s: ImportStack, id: number) {
  const [row] = await s.o.sql<{ cursor: string | null; scanned: number; state: string }[]>`
    SELECT cursor, scanned, state FROM backfills WHERE id = ${id}`;
  return row!;
}

async function catalogueOf(s: ImportStack) {
  const [r] = await s.o.sql<{ rows_n: number; emails: number; links: number }[]>`
    SELECT (SELECT count(*)::int FROM customers) AS rows_n,
           (SELECT count(DISTINCT lower(email))::int FROM customers) AS emails,
           (SELECT count(*)::int FROM customer_links WHERE target = 'stripe') AS links`;
  return { ...r! };
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

test('a SIGKILLed import resumes from its cursor in the next process, and adds up', async (ctx) => {
  const s = await importStack();
  ctx.stacks.push(s);
  const seeded = await seedPeople(s, RESUME, 'Resume');
  // Each page takes a while, so the kill lands mid-walk.
  s.emulator.delayRequests({ method: 'GET', path: '/v1/customers', ms: 300 });
  // A restart under the same identity (as a supervisor restarts it) takes the partitions back at
  // once; a raised pace keeps the run short, pacing is not what this test is about.
  const env = {
    RTWS_WORKER_ID: 'import-resume-1',
    RTWS_STRIPE_RATE: '2000',
    RTWS_STRIPE_CONCURRENCY: '32',
  };
  const first = await s.spawn(env);
  const { id } = await first.api.start({ source: 'stripe' });
  // About a third of the way in: pages saved before the kill, and pages left after it.
  const killAt = Math.max(100, Math.floor(RESUME / 300) * 100);
  const seen = await eventually(
    () => first.api.get(id),
    (b) => b.scanned >= killAt || b.state !== 'running',
    60_000,
    50,
  );
  assert.is(seen.state, 'running', 'still walking when killed');
  assert.ok(seen.scanned < RESUME, `killed mid-walk, at ${seen.scanned}`);
  await first.process.kill('SIGKILL');
  const atKill = await savedProgress(s, id);
  assert.is(atKill.state, 'running', 'a killed walk is left running, for another process');
  assert.ok(atKill.scanned >= seen.scanned && atKill.scanned < RESUME, JSON.stringify(atKill));
  const pagesBefore = s.tap.requests().filter(isListPage).length;

  const restartedAt = Date.now();
  const second = await s.spawn(env);
  const scannedSeen: number[] = [];
  const done = await untilSettled(
    async () => {
      const b = await second.api.get(id);
      scannedSeen.push(b.scanned);
      return b;
    },
    (b) => b.state !== 'running',
  );
  assert.is(done.state, 'done', JSON.stringify(done));
  assert.ok(
    scannedSeen.every((n) => n >= atKill.scanned),
    `scanned went below ${atKill.scanned}: ${scannedSeen.find((n) => n < atKill.scanned)}`,
  );
  assert.is(done.scanned, RESUME, 'every customer counted once');
  assert.is(total(done.counts), RESUME, JSON.stringify(done.counts));
  // The page in flight at the kill is walked again: what the dead process had handed over of
  // it may be linked by then. Nothing else is.
  assert.equal(
    Object.keys(done.counts).filter((k) => k !== 'insert' && k !== 'linked'),
    [],
    JSON.stringify(done.counts),
  );
  assert.ok((done.counts.linked ?? 0) <= 100, JSON.stringify(done.counts));

  const pages = s.tap.requests().filter(isListPage);
  // The first page listed after the kill (by the dead process's request still in flight, or by
  // the next process) starts after the saved cursor.
  assert.is(
    pages[pagesBefore]?.query.get('starting_after'),
    atKill.cursor?.split('@')[0],
    'the walk resumes after the saved cursor',
  );
  const starts = new Map<string, number>();
  for (const r of pages) {
    const from = r.query.get('starting_after') ?? '';
    starts.set(from, (starts.get(from) ?? 0) + 1);
  }
  const killedAfter = atKill.cursor?.split('@')[0] ?? '';
  const twice = [...starts].filter(([from, n]) => n > 1 && from !== killedAfter);
  assert.equal(twice, [], 'no page but the one in flight at the kill is listed twice');
  assert.ok((starts.get(killedAfter) ?? 0) <= 2, 'the page in flight, at most twice');
  assert.is(starts.size, PAGES, `each of the ${PAGES} pages is walked`);
  assert.ok(pages.length <= PAGES + 1, `${pages.length} list pages for ${PAGES}`);

  const walkedS = (Date.now() - restartedAt) / 1000;
  const settled = await untilSettled(
    () => catalogueOf(s),
    (c) => c.links === RESUME,
  );
  assert.equal(
    settled,
    { rows_n: RESUME, emails: RESUME, links: RESUME },
    'one catalogue row and one link per Stripe customer',
  );
  const linkedIds = await s.o.sql<{ external_id: string }[]>`
    SELECT external_id FROM customer_links WHERE target = 'stripe'`;
  assert.equal(
    linkedIds.map((l) => l.external_id).sort(),
    seeded.map((c) => c.id).sort(),
    'the links are the seeded customers',
  );
  console.log(
    `import of ${RESUME} killed at ${atKill.scanned} scanned; the next process walked the rest ` +
      `in ${walkedS.toFixed(1)} s and had them all linked after ` +
      `${((Date.now() - restartedAt) / 1000).toFixed(1)} s`,
  );
  assert.is(s.emulator.stats().customers, RESUME, 'no Stripe customer was made');
  assert.equal(s.tap.requests().filter(isCreate), []);
});

interface LiveEdit {
  readonly kind: 'create' | 'patch';
  readonly customerId: string;
  /** Postgres's commit time of the edit (the row's `updated_at`). */
  readonly committedAt: number;
  /** How its Stripe write is recognised in the tap. */
  readonly isWrite: (r: TappedRequest) => boolean;
}

async function liveCreate(url: string, i: number): Promise<LiveEdit> {
  const res = await fetch(`${url}/customers`, {
    method: 'POST',
    headers: authHeaders(),
    body: JSON.stringify({ name: `Live ${i}`, email: `live${i}@example.com` }),
  });
  assert.is(res.status, 201, await res.clone().text());
  const c = (await res.json()) as { id: string; updated_at: string };
  return {
    kind: 'create',
    customerId: c.id,
    committedAt: Date.parse(c.updated_at),
    isWrite: (r) =>
      r.method === 'POST' && r.path === '/v1/customers' && r.form.get('metadata[rtws_id]') === c.id,
  };
}

async function livePatch(
  url: string,
  customerId: string,
  stripeId: string,
  i: number,
): Promise<LiveEdit> {
  const name = `Renamed live ${i}`;
  const res = await fetch(`${url}/customers/${customerId}`, {
    method: 'PATCH',
    headers: authHeaders(),
    body: JSON.stringify({ name }),
  });
  assert.is(res.status, 200, await res.clone().text());
  const c = (await res.json()) as { updated_at: string };
  return {
    kind: 'patch',
    customerId,
    committedAt: Date.parse(c.updated_at),
    isWrite: (r) =>
      r.method === 'POST' && r.path === `/v1/customers/${stripeId}` && r.form.get('name') === name,
  };
}

test('live edits made during an import reach Stripe while it runs', async (ctx) => {
  const s = await importStack();
  ctx.stacks.push(s);
  await seedPeople(s, LIVE_IMPORT, 'Existing');
  // Stripe's own budget for a live key: the import and the live edits share it. Walk pages as
  // slow as Stripe's can be keep the walk going for a while after the edits are made (a live
  // create's lookup by email is not held).
  s.tap.hold(isListPage, 1_500);
  const { api, process: p } = await s.spawn();
  const { id } = await api.start({ source: 'stripe' });
  const imported = await eventually(
    async () => s.o.sql<{ customer_id: string; external_id: string }[]>`
      SELECT customer_id, external_id FROM customer_links WHERE target = 'stripe'
      ORDER BY linked_at LIMIT ${LIVE_EDITS / 2}`,
    (rows) => rows.length === LIVE_EDITS / 2,
    60_000,
    100,
  );
  // Twenty edits a second, each sent on time whatever the answers take.
  const after = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const edits = await Promise.all(
    imported.flatMap((link, i) => [
      after(i * 100).then(() => liveCreate(api.url, i)),
      after(i * 100 + 50).then(() => livePatch(api.url, link.customer_id, link.external_id, i)),
    ]),
  );
  const lastEdit = Math.max(...edits.map((e) => e.committedAt));
  const landed = await eventually(
    async () => edits.map((e) => s.tap.requests().find((r) => e.isWrite(r) && r.status === 200)),
    (ws) => ws.every((w) => w !== undefined),
    60_000,
    100,
  );
  const during = await api.get(id);
  const done = await api.ended(id);
  assert.is(done.state, 'done', JSON.stringify(done));
  const endedAt = Date.parse(done.ended_at!);
  assert.ok(
    lastEdit < endedAt,
    `the import ended before the last edit (${during.scanned} scanned once the edits had landed): ` +
      'raise RTWS_LIVE_IMPORT_CUSTOMERS',
  );

  const missing = edits.filter((_, i) => landed[i] === undefined);
  assert.equal(
    missing.map((e) => `${e.kind} ${e.customerId}`),
    [],
    `${missing.length} live edits never reached Stripe\n${p.output().slice(-2_000)}`,
  );
  const late = edits.filter((_, i) => landed[i]!.at >= endedAt);
  assert.equal(
    late.map((e) => `${e.kind} ${e.customerId}`),
    [],
    'every live edit reached Stripe before the import ended',
  );
  const ms = edits.map((e, i) => landed[i]!.at - e.committedAt).sort((a, b) => a - b);
  console.log(
    `live edits during an import of ${LIVE_IMPORT}: ${edits.length} edits, commit -> Stripe ` +
      `p50 ${percentile(ms, 50)} ms, p99 ${percentile(ms, 99)} ms, max ${ms.at(-1)} ms; ` +
      `the import ran ${((endedAt - Date.parse(done.started_at)) / 1000).toFixed(1)} s`,
  );
});

test.run();
