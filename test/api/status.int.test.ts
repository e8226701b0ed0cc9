// GET /status against a whole rtws with its sandbox emulators: customers counted by sync status per
// target, a paused target's waiting customer, the bound accounts, the streams, the counters and a
// backfill in progress, each a real value.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { authHeaders } from '../harness/rtws.ts';
import { eventually, waitFor } from '../harness/stream.ts';
import { startSandboxRtws, type SandboxRtws } from '../harness/sandbox-rtws.ts';

const test = suite<{ s: SandboxRtws }>('GET /status');

test.before(async (ctx) => {
  ctx.s = await startSandboxRtws();
});
test.after(async (ctx) => {
  await ctx.s?.close();
});

type Status = Record<string, any>;
const target = (s: Status, name: string) =>
  (s.targets as { name: string }[]).find((t) => t.name === name) as Record<string, any>;

test('counts, accounts, backlogs and counters are those of the running rtws', async (ctx) => {
  const { s } = ctx;
  const ids: string[] = [];
  for (const name of ['Ada Lovelace', 'Grace Hopper']) {
    const created = await s.api('POST', '/customers', { name, email: `${name[0]}@example.com` });
    assert.is(created.status, 201);
    ids.push(created.body.id as string);
  }
  const status = await eventually(
    async () => (await s.api<Status>('GET', '/status')).body,
    (b) =>
      target(b, 'stripe').customers.synced === 2 &&
      target(b, 'salesforce').customers.synced === 2 &&
      b.outbox.depth === 0,
    30_000,
    250,
  );
  const stripe = target(status, 'stripe');
  assert.is(stripe.state, 'on');
  assert.match(stripe.account.id, /^acct_/);
  assert.is(stripe.account.livemode, false);
  assert.equal(stripe.customers, {
    synced: 2,
    pending: 0,
    retrying: 0,
    failed: 0,
    unlinked: 0,
    waiting: 0,
  });
  assert.ok(Date.parse(stripe.counted_at) > 0);
  assert.is(target(status, 'salesforce').state, 'on');
  assert.is(status.outbox.oldest_age_s, 0);
  const changes = status.streams.find((x: { stream: string }) => x.stream === 'CHANGES');
  assert.is(changes.name, s.t.names.streams.changes);
  // Two facts, and each customer's two creates recorded as outcomes at least.
  assert.ok(changes.messages >= 6, `${changes.messages} messages`);
  assert.ok(changes.consumers >= 1);
  assert.equal(
    status.streams.map((x: { stream: string }) => x.stream),
    ['CHANGES', 'INVOICES', 'INBOUND', 'DLQ'],
  );
  assert.is(status.dlq.depth, 0);
  assert.is(status.conflicts.total, 0);
  assert.equal(status.work, []);
  assert.ok(status.counters.changes_published >= 2, JSON.stringify(status.counters));
  assert.ok(status.counters.external_calls >= 4, JSON.stringify(status.counters));
  assert.is(status.counters.external_calls_failed, 0);
  assert.ok(status.counters.facts_consumed >= 6);
  assert.ok(status.counters.http_requests >= 3);
  // The same count on /metrics, as a counter.
  const { 'content-type': _, ...auth } = authHeaders();
  const metrics = await (await fetch(`${s.url}/metrics`, { headers: auth })).text();
  assert.match(metrics, /^# TYPE rtws_outbox_published_total counter$/m);
  const published = Number(/^rtws_outbox_published_total (\d+)$/m.exec(metrics)?.[1]);
  assert.ok(published >= 2, `${published} published`);
});

test("a paused target's customer waits, and is counted as waiting", async (ctx) => {
  const { s } = ctx;
  assert.is((await s.api('POST', '/targets/stripe/pause', { reason: 'maintenance' })).status, 200);
  // The workers read the pause within about a second.
  await new Promise((r) => setTimeout(r, 2_000));
  const created = await s.api('POST', '/customers', { name: 'Edsger Dijkstra' });
  assert.is(created.status, 201);
  const status = await eventually(
    async () => (await s.api<Status>('GET', '/status')).body,
    (b) => target(b, 'stripe').customers.waiting === 1,
    30_000,
    250,
  );
  assert.is(target(status, 'stripe').customers.waiting, 1, JSON.stringify(status.targets));
  assert.is(target(status, 'stripe').state, 'paused');
  assert.is(target(status, 'stripe').customers.synced, 2);
  assert.is((await s.api('POST', '/targets/stripe/resume')).status, 200);
  await waitFor(
    async () => (await s.api<Status>('GET', '/status')).body,
    (b) => target(b, 'stripe').customers.synced === 3 && target(b, 'stripe').state === 'on',
    30_000,
    250,
  );
});

test('a backfill in progress is listed with its progress', async (ctx) => {
  const { s } = ctx;
  // Paused from the start, so that it stays in progress while it is looked at.
  await s.rtws.sql`
    INSERT INTO backfills (source, state, options, scanned, total_estimate)
    VALUES ('postgres', 'paused', '{}', 7, 20)`;
  const status = (await s.api<Status>('GET', '/status')).body;
  assert.equal(
    status.work.map((w: Record<string, unknown>) => [w.kind, w.source, w.state, w.done, w.total]),
    [['backfill', 'postgres', 'paused', 7, 20]],
  );
});

test.run();
