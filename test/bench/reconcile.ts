// `npm run bench -- reconcile`: a full reconciliation of N linked, equal customers
// (RTWS_BENCH_RECONCILE_CUSTOMERS, default 10,000) against both emulators, with the Stripe pace
// raised (RTWS_BENCH_STRIPE_RATE / _CONCURRENCY, default 2,000/s and 32). The catalogue, its links
// and both accounts are seeded directly (no sync runs before), then rtws starts and the run is
// started with POST /reconciliations and followed until done.
//
// Reported: customers per second; external calls per 1,000 customers, from the emulators' own
// logs (targets: at most 10 to Stripe and 1 to Salesforce, both read in pages); rtws CPU per
// 1,000 customers. Baseline, in the same run: the same reads made directly with the official
// clients, one page at a time, before rtws starts.
import http from 'node:http';
import jsforce from 'jsforce';
import { startStripeEmulator } from '../../adapters/emulators/stripe/index.ts';
import { startSalesforceEmulator } from '../../adapters/emulators/salesforce/index.ts';
import { readSalesforceRecords } from '../../adapters/salesforce/read-back.ts';
import { apiUrlOf, spawnRtws } from '../harness/process.ts';
import { authHeaders, observe, testEnvironment, type Observer } from '../harness/rtws.ts';
import { LIVE_KEY } from '../sync/stack.ts';
import { benchTuning, type BenchResult } from './capture.ts';
import { groupDelta, sampleCpu, sleep, type Figure } from './report.ts';
import { sdkClient, SEED_IN_FLIGHT, walkRate } from './backfill-seed.ts';

const SF_TARGET = { object: 'Account', externalIdField: 'Rtws_Id__c' };

interface View {
  state: string;
  scanned: number;
  counts: Record<string, number>;
  last_error: string | null;
}

export async function benchReconcile(customers: number): Promise<BenchResult> {
  const t = await testEnvironment();
  const o = await observe(t);
  const emu = await startStripeEmulator({ port: 0, searchLagMs: 0 });
  const sf = await startSalesforceEmulator({ port: 0 });
  const agent = new http.Agent({ keepAlive: true, maxSockets: SEED_IN_FLIGHT });
  const stripe = sdkClient(emu.url, LIVE_KEY, agent);
  let child: ReturnType<typeof spawnRtws> | undefined;
  try {
    const conn = new jsforce.Connection({
      oauth2: { loginUrl: sf.loginUrl, clientId: sf.clientId, clientSecret: sf.clientSecret },
      version: '62.0',
    });
    await conn.authorize({ grant_type: 'client_credentials' });
    const seeded = await seed(o.sql, stripe, conn, customers);
    // Catch-up's first start looks back from now: the seeding's events are the past it skips.
    await sleep(1_100);
    // Baselines: the same reads, made directly, one page at a time.
    const walk = await walkRate(stripe);
    const sfStarted = performance.now();
    let sfRead = 0;
    for await (const page of readSalesforceRecords(conn, SF_TARGET)) sfRead += page.records.length;
    const sfPerSecond = (sfRead * 1000) / (performance.now() - sfStarted);

    child = spawnRtws({
      ...t.env,
      ...benchTuning(),
      STRIPE_SECRET_KEY: LIVE_KEY,
      STRIPE_API_BASE: emu.url,
      STRIPE_WEBHOOK_SECRET: 'whsec_bench_reconcile',
      SALESFORCE_LOGIN_URL: sf.loginUrl,
      SALESFORCE_CLIENT_ID: sf.clientId,
      SALESFORCE_CLIENT_SECRET: sf.clientSecret,
      RTWS_STRIPE_RATE: process.env.RTWS_BENCH_STRIPE_RATE || '2000',
      RTWS_STRIPE_CONCURRENCY: process.env.RTWS_BENCH_STRIPE_CONCURRENCY || '32',
      RTWS_AUTO_EXPORT: 'false',
      RTWS_CATCHUP_MARGIN_S: '0',
      LOG_LEVEL: 'warn',
    });
    const url = await apiUrlOf(child);
    await sleep(2_000);
    emu.clearRequests();
    const sfCallsBefore = sf.apiCalls();
    const before = sampleCpu({ rtws: [child.child.pid!] });
    const started = performance.now();
    const headers = { ...authHeaders(), 'content-type': 'application/json' };
    const res = await fetch(`${url}/reconciliations`, { method: 'POST', headers, body: '{}' });
    if (res.status !== 202) throw new Error(`POST /reconciliations: ${res.status}`);
    const { id } = (await res.json()) as { id: number };
    let view: View;
    for (;;) {
      view = (await (
        await fetch(`${url}/reconciliations/${id}`, { headers: authHeaders() })
      ).json()) as View;
      if (view.state !== 'running') break;
      await sleep(100);
    }
    const seconds = (performance.now() - started) / 1000;
    const after = sampleCpu({ rtws: [child.child.pid!] });
    if (view.state !== 'done') throw new Error(`reconciliation ${view.state}: ${view.last_error}`);
    const equal = view.counts.equal ?? 0;
    if (equal !== 2 * customers)
      throw new Error(`expected ${2 * customers} equal, got ${JSON.stringify(view.counts)}`);
    const stripeCalls = emu.requests().length;
    const writes = emu.requests().filter((r) => r.method !== 'GET').length;
    const sfCalls = sf.apiCalls() - sfCallsBefore;
    const per1000 = (n: number) => (n * 1000) / customers;
    const cpu = groupDelta(before, after, 'rtws');
    const figures: Figure[] = [
      {
        name: 'reconcile: customers per second (both targets)',
        value: customers / seconds,
        unit: 'customers/s',
        baseline: Math.min(walk.perSecond, sfPerSecond),
        note: `baseline: the slower of the direct reads (Stripe ${walk.perSecond.toFixed(0)}/s, Salesforce ${sfPerSecond.toFixed(0)}/s); seeded ${seeded.toFixed(0)}/s`,
      },
      {
        name: 'reconcile: Stripe calls per 1,000 customers',
        value: per1000(stripeCalls),
        unit: 'calls',
        target: { text: '<= 10', met: per1000(stripeCalls) <= 10 },
        note: `${stripeCalls} calls, ${writes} writes`,
      },
      {
        name: 'reconcile: Salesforce calls per 1,000 customers',
        value: per1000(sfCalls),
        unit: 'calls',
        target: { text: '<= 1', met: per1000(sfCalls) <= 1 },
        note: `${sfCalls} calls`,
      },
      {
        name: 'reconcile: rtws CPU per 1,000 customers',
        value: per1000(cpu),
        unit: 'CPU-s',
      },
    ];
    return {
      figures,
      cpu: [`reconcile: rtws ${(cpu / seconds).toFixed(2)} cores over ${seconds.toFixed(1)} s`],
    };
  } finally {
    await child?.kill('SIGTERM');
    agent.destroy();
    await emu.close();
    await sf.close();
    await o.close();
    await t.cleanup();
  }
}

/** N customers, equal in the catalogue, Stripe and Salesforce, and linked; creates per second. */
async function seed(
  sql: Observer['sql'],
  stripe: ReturnType<typeof sdkClient>,
  conn: jsforce.Connection,
  n: number,
): Promise<number> {
  const started = performance.now();
  const rows = await sql.begin(async (tx) => {
    // As rows from before capture: nothing is synced by their insert.
    await tx`SET LOCAL session_replication_role = replica`;
    return tx<{ id: string; name: string; email: string }[]>`
      INSERT INTO customers (name, email)
      SELECT 'Reconciled ' || i, 'reconciled.' || i || '@example.com' FROM generate_series(1, ${n}) AS i
      RETURNING id, name, email`;
  });
  const stripeIds: string[] = new Array<string>(rows.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: SEED_IN_FLIGHT }, async () => {
      while (next < rows.length) {
        const i = next++;
        const r = rows[i]!;
        const c = await stripe.customers.create({
          name: r.name,
          email: r.email,
          metadata: { rtws_id: r.id },
        });
        stripeIds[i] = c.id;
      }
    }),
  );
  const sfIds: string[] = [];
  for (let i = 0; i < rows.length; i += 200) {
    const batch = rows.slice(i, i + 200).map((r) => ({
      Name: r.name,
      Rtws_Email__c: r.email,
      Rtws_Id__c: r.id,
    }));
    const made = await conn.sobject('Account').create(batch, { allOrNone: true });
    for (const m of made) {
      if (!m.success || !m.id) throw new Error(`seeding Salesforce failed: ${JSON.stringify(m)}`);
      sfIds.push(m.id);
    }
  }
  await sql`
    INSERT INTO customer_links (customer_id, target, external_id)
    SELECT * FROM unnest(${sql.array(rows.map((r) => r.id))}::uuid[],
                         array_fill('stripe'::text, ARRAY[${rows.length}::int]),
                         ${sql.array(stripeIds)}::text[])`;
  await sql`
    INSERT INTO customer_links (customer_id, target, external_id)
    SELECT * FROM unnest(${sql.array(rows.map((r) => r.id))}::uuid[],
                         array_fill('salesforce'::text, ARRAY[${rows.length}::int]),
                         ${sql.array(sfIds)}::text[])`;
  return (n * 1000) / (performance.now() - started);
}
