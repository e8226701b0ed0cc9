// The worker SIGKILLed at random points while it issues invoices, twice, and restarted each time:
// every invoice still ends up in Stripe exactly once, with each of its items once. A restarted
// worker has a new id, so it first waits for the dead one's leases to expire (QUICK_TAKEOVER); it
// then resumes the pending intents recorded in the invoice actors' snapshots.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Sql } from '../../adapters/postgres/connect.ts';
import { QUICK_TAKEOVER, spawnRtws, type RtwsProcess } from '../harness/process.ts';
import type { StripeSide } from '../sync/stack.ts';
import {
  awaitIssued,
  createCustomers,
  issuingStack,
  requestInvoices,
  stripeReport,
  unissued,
  type IssuingStack,
} from './issue-stack.ts';

const CUSTOMERS = 30;
const PER_CUSTOMER = 4;

const test = suite<{ stack?: IssuingStack; worker?: RtwsProcess }>(
  'worker killed while issuing invoices',
);

test.before(async (ctx) => {
  ctx.stack = await issuingStack('api,publisher');
});
test.after(async (ctx) => {
  await ctx.worker?.kill();
  await ctx.stack?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Stripe calls made so far: progress that shows a worker is issuing. */
function stripeWrites(side: StripeSide): number {
  return side.emulator.requests({ method: 'POST' }).filter((r) => r.path.startsWith('/v1/invoice'))
    .length;
}

async function openCount(sql: Sql): Promise<number> {
  const [row] = await sql<
    { n: number }[]
  >`SELECT count(*)::int AS n FROM invoices WHERE status = 'open'`;
  return row!.n;
}

/** Waits until the live worker has made `more` invoice writes, then a random while longer. */
async function midIssue(side: StripeSide, more: number, maxExtraMs: number): Promise<void> {
  const start = stripeWrites(side);
  const deadline = Date.now() + 40_000;
  while (stripeWrites(side) < start + more && Date.now() < deadline) await sleep(20);
  await sleep(Math.floor(Math.random() * maxExtraMs));
}

test('SIGKILL twice mid-issue: every invoice once, every item once', async (ctx) => {
  const { t, side, rtws } = ctx.stack!;
  const env = { ...t.env, ...side.env({ RTWS_ROLES: 'worker' }), ...QUICK_TAKEOVER };
  const customers = await createCustomers(rtws.url!, CUSTOMERS, 'Killed');
  const requested = await requestInvoices(rtws.url!, customers, PER_CUSTOMER);
  side.emulator.clearRequests();
  ctx.worker = spawnRtws(env);
  const kills: string[] = [];
  for (let k = 0; k < 2; k++) {
    await midIssue(side, 1 + Math.floor(Math.random() * 60), 500);
    kills.push(
      `kill ${k + 1} after ${stripeWrites(side)} writes, ${await openCount(rtws.sql)} open`,
    );
    assert.is(await ctx.worker.kill('SIGKILL'), null, 'ended by the signal');
    ctx.worker = spawnRtws(env);
  }
  const open = await awaitIssued(rtws.sql, requested.length, 60_000);
  const report = await stripeReport(side.stripe, rtws.sql, requested);
  const waiting = (await unissued(rtws.sql)).join('\n');
  assert.equal(
    report.problems,
    [],
    `${kills.join('; ')}\nnot issued in Postgres:\n${waiting}\n${ctx.worker.output().slice(-2000)}`,
  );
  assert.is(open, requested.length);
  console.log(`  ${kills.join('; ')}; ${report.invoices} invoices, ${report.items} items`);
});

test.run();
