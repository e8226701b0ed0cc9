// One Salesforce daily budget for every process. Two processes' worth of budgets (each with its own
// NATS connection and its own jsforce session, as two workers hold them) write to one org as fast
// as they can, four calls at a time each, with the org's other clients having spent 40 of its 200
// calls: together they stop at rtws's share (50 %: 100 calls), and get close to it. While both
// wait, one of them at a time reads the usage; when it fell, both go again.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Connection } from 'jsforce';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  startSalesforceEmulator,
  type SalesforceEmulator,
} from '../../adapters/emulators/salesforce/index.ts';
import { connectNats } from '../../adapters/jetstream/connect.ts';
import { openUsageRecords } from '../../adapters/jetstream/kv-usage.ts';
import { classifySalesforceError } from '../../adapters/salesforce/classify.ts';
import {
  checkUsage,
  connectSalesforce,
  organizationOf,
  type CallCounter,
} from '../../adapters/salesforce/client.ts';
import {
  DailyBudgetSpentError,
  SalesforceDailyBudget,
} from '../../adapters/salesforce/daily-budget.ts';
import type { CallTicket } from '../../core/policy/daily-budget.ts';
import { TimeoutError } from '../../core/timeout.ts';
import { testEnvironment, type TestEnvironment } from '../harness/rtws.ts';
import { recordingLogger, type LogLine } from '../webhooks/signing.ts';

const LIMIT = 200;
const OTHERS = 40;
const BUDGET = 100;
const LANES = 4;
const CHECK_EVERY_MS = 500;

interface Worker {
  readonly nc: NatsConnection;
  readonly budget: SalesforceDailyBudget;
  readonly conn: Connection;
  /** What it logged, by level. */
  readonly logged: LogLine[];
}

const test = suite<{ t: TestEnvironment; sf: SalesforceEmulator; workers: Worker[] }>(
  'a Salesforce daily budget shared by processes',
);

test.before(async (ctx) => {
  ctx.workers = [];
  ctx.t = await testEnvironment();
  ctx.sf = await startSalesforceEmulator({ port: 0, dailyApiLimit: LIMIT });
  for (const name of ['one', 'two']) ctx.workers.push(await worker(ctx.t, ctx.sf, name));
});

test.after(async (ctx) => {
  for (const w of ctx.workers ?? []) {
    w.budget.close();
    await w.nc.close();
  }
  await ctx.sf?.close();
  await ctx.t?.cleanup();
});

async function worker(t: TestEnvironment, sf: SalesforceEmulator, name: string): Promise<Worker> {
  const nc = await connectNats({ servers: [t.natsUrl], name: `salesforce-budget-${name}` });
  const records = await openUsageRecords(nc, { bucket: t.names.bucket('SALESFORCE_USAGE') });
  const { loginUrl, clientId, clientSecret } = sf;
  const log = recordingLogger();
  let session: Promise<Connection> | undefined;
  const connection = () =>
    (session ??= connectSalesforce({ loginUrl, clientId, clientSecret, timeoutMs: 5_000, budget }));
  const budget: SalesforceDailyBudget = new SalesforceDailyBudget({
    records,
    share: 0.5,
    org: async () => organizationOf(await connection()),
    check: async () => checkUsage(await connection()),
    checkEveryMs: CHECK_EVERY_MS,
    openForMs: 10_000,
    log,
  });
  return { nc, budget, conn: await connection(), logged: log.lines };
}

/**
 * Writes until the budget refuses; resolves with the calls made and the refusal. A call whose
 * count did not land in time was not sent, and is tried again, as an executor does.
 */
async function writeUntilRefused(w: Worker, lane: string): Promise<{ made: number; err: unknown }> {
  for (let made = 0; ;) {
    try {
      await w.conn.sobject('Account').create({ Name: `${lane} ${made}` });
      made++;
    } catch (err) {
      if (err instanceof TimeoutError) continue;
      return { made, err };
    }
  }
}

test('two processes together stop at the share', async ({ sf, workers }) => {
  sf.setApiUsage(OTHERS);
  const lanes = workers.flatMap((w, i) =>
    Array.from({ length: LANES }, (_, j) => writeUntilRefused(w, `w${i}-l${j}`)),
  );
  const results = await Promise.all(lanes);
  for (const { err } of results) {
    assert.instance(err, DailyBudgetSpentError, String(err));
    const classified = classifySalesforceError(err);
    assert.is(classified.failure, 'rate_limited');
    assert.is(classified.retryAfterMs, 1_000);
    assert.match(classified.reason, /^RTWS_DAILY_BUDGET_SPENT: rtws's share/);
  }
  const made = results.map((r) => r.made);
  const byWorker = [0, 1].map((i) =>
    made.slice(i * LANES, (i + 1) * LANES).reduce((a, b) => a + b, 0),
  );
  const used = sf.apiCalls();
  console.log(`  ${OTHERS} calls by others, ${byWorker.join(' + ')} by rtws: ${used} of ${LIMIT}`);
  assert.is(
    used,
    OTHERS + byWorker[0]! + byWorker[1]!,
    'every call counted by Salesforce was ours',
  );
  assert.ok(used <= BUDGET, `${used} calls used: never past the share of ${BUDGET}`);
  // Answers that overlap count their calls twice for a moment: at most the calls in flight.
  assert.ok(used >= BUDGET - 2 * LANES, `${used} calls used: the share is spent, not starved`);
  assert.ok(
    byWorker.every((n) => n > 0),
    'both processes wrote',
  );
  for (const w of workers) {
    assert.not.ok(w.budget.allows('live'), 'each sees the share spent');
    const warned = w.logged.filter((l) => l.level === 'warn');
    assert.is(warned.length, 1, 'said once, not per call');
    assert.match(
      warned[0]!.msg ?? '',
      /share of the org's daily API calls is spent \(\d+ of 200 used, 100 allowed\)/,
    );
  }
});

test('while both wait one reads the usage at a time; when it falls both go', async ({
  sf,
  workers,
}) => {
  await new Promise((r) => setTimeout(r, CHECK_EVERY_MS));
  const checks = () => sf.stats().callsByEndpoint.resources ?? 0;
  const before = checks();
  sf.setApiUsage(20);
  const started = Date.now();
  await Promise.all(workers.map((w) => w.budget.whenAllows('live')));
  const waited = Date.now() - started;
  const made = checks() - before;
  assert.ok(made >= 1, 'the usage was read');
  assert.ok(
    made <= Math.ceil(waited / CHECK_EVERY_MS) + 1,
    `${made} reads in ${waited} ms: one process at a time`,
  );
  for (const w of workers) {
    const s = w.budget.status();
    assert.equal([s.state, s.limit, s.budget], ['open', LIMIT, BUDGET]);
    assert.ok(s.used <= 20 + made + 1, `${s.used} used, as Salesforce said`);
  }
  await workers[1]!.conn.sobject('Account').create({ Name: 'Again' });
  for (const w of workers)
    assert.ok(
      w.logged.some((l) => l.level === 'info' && /all calls go/.test(l.msg ?? '')),
      'says it goes again',
    );
});

test('a call whose count is late is not sent, and its count is given back when it lands', async ({
  sf,
}) => {
  const ticket = { id: 'late' } as unknown as CallTicket;
  const given: CallTicket[] = [];
  const slow: CallCounter = {
    before: () => new Promise((r) => setTimeout(() => r(ticket), 800)),
    after: async (t) => {
      given.push(t);
    },
  };
  const { loginUrl, clientId, clientSecret } = sf;
  const conn = await connectSalesforce({ loginUrl, clientId, clientSecret, budget: slow });
  // The other processes' budgets read the usage meanwhile: only creates are this call's.
  const calls = () => sf.stats().callsByEndpoint['sobject.create'] ?? 0;
  const before = calls();
  const err = await conn
    .sobject('Account')
    .create({ Name: 'Late' })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.instance(err, TimeoutError);
  assert.is(classifySalesforceError(err).failure, 'transient');
  await new Promise((r) => setTimeout(r, 600));
  assert.is(calls(), before, 'the call was not sent');
  assert.equal(given, [ticket], 'the late count was given back');
});

test.run();
