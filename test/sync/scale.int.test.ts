// A thousand customers created and then changed through the API, sixteen clients at a time, all
// reach the Stripe emulator once each, with Postgres's fields, and their sync views end `synced`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { apiClient, inPool } from './api-client.ts';
import { awaitConvergence, converged, summary } from './convergence.ts';
import { startSyncStack, type SyncStack } from './stack.ts';
import { testSize } from '../harness/services.ts';

const CUSTOMERS = testSize('RTWS_SYNC_CUSTOMERS', 1000);
const CLIENTS = 16;

const test = suite<Partial<SyncStack>>('sync at scale');

test.before(async (ctx) => {
  Object.assign(ctx, await startSyncStack());
});
test.after(async (ctx) => {
  await ctx.close?.();
});

test(`${CUSTOMERS} customers created and updated converge in Stripe exactly once`, async (ctx) => {
  const { rtws, side } = ctx as Required<typeof ctx>;
  const api = apiClient(rtws.url!);
  const started = Date.now();
  const created = await inPool(
    Array.from({ length: CUSTOMERS }, (_, i) => i),
    CLIENTS,
    (i) =>
      api.create({ name: `Customer ${i}`, email: `c${i}@example.com`, metadata: { n: String(i) } }),
  );
  const updated = await inPool(created, CLIENTS, (c, i) =>
    api.patch(c.id, { phone: `+1555${String(i).padStart(7, '0')}`, metadata: { tier: 'gold' } }),
  );
  const written = Date.now();
  assert.ok(updated.every((c, i) => c.version === created[i]!.version + 1));

  const report = await awaitConvergence(rtws.sql, side.stripe, api, 120_000);
  const done = Date.now();
  if (!converged(report)) {
    const id = report.missing[0] ?? report.unsynced[0]?.id ?? '';
    const calls = side.emulator.requests({}).filter((r) => r.idempotencyKey?.includes(id));
    assert.unreachable(
      `${summary(report)}\n${JSON.stringify(await api.sync(id))}\n${JSON.stringify(calls)}`,
    );
  }
  assert.is(report.customers, CUSTOMERS);
  assert.is(report.stripeCustomers, CUSTOMERS, 'no Stripe customer beyond ours');
  const creates = side.emulator
    .requests({ method: 'POST', path: '/v1/customers' })
    .filter((r) => r.path === '/v1/customers' && r.status === 200);
  assert.ok(creates.length <= CUSTOMERS, `${creates.length} successful creates`);
  console.log(
    `  ${CUSTOMERS} customers: written in ${written - started} ms, converged ${done - written} ms later`,
  );
});

test.run();
