// `npm run rtws -- <verb>` against a whole rtws with its sandbox emulators: each verb that calls the
// API prints a table, or JSON with --json, and acts; errors exit non-zero with a clear message:
// bad arguments 2 (with the usage), an unreachable rtws 3, a token refused or lacking the scope
// and an unknown id 1. `replay` reads NATS with rtws's own configuration.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { jetstream } from '@nats-io/jetstream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { jetStreamDeadLetters } from '../../adapters/jetstream/dead-letters.ts';
import { recordTargetConflict } from '../../adapters/postgres/conflicts.ts';
import { encodeRecordedEvent } from '../../actors/customer/outcome-message.ts';
import { spawnCli } from '../harness/process.ts';
import { TEST_TOKEN } from '../harness/rtws.ts';
import { waitFor } from '../harness/stream.ts';
import { startSandboxRtws, type SandboxRtws } from '../harness/sandbox-rtws.ts';

const READ_TOKEN = 'read-token-0123456789abcdef';

const test = suite<{ s: SandboxRtws; ids: string[] }>('rtws CLI');

test.before(async (ctx) => {
  ctx.s = await startSandboxRtws({ RTWS_API_TOKENS: `oncall:read:${READ_TOKEN}` });
  ctx.ids = [];
  for (const name of ['Ada Lovelace', 'Grace Hopper']) {
    const r = await ctx.s.api('POST', '/customers', { name });
    ctx.ids.push(r.body.id as string);
  }
  await waitFor(
    () => ctx.s.api('GET', `/customers/${ctx.ids[1]}/sync`),
    (r) => r.body.targets?.stripe?.status === 'synced',
    30_000,
    200,
  );
});
test.after(async (ctx) => {
  await ctx.s?.close();
});

/** Runs the CLI to its end: exit code and output (stdout and stderr together). */
async function rtws(
  ctx: { s: SandboxRtws },
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string }> {
  const p = spawnCli(args, { RTWS_URL: ctx.s.url, RTWS_API_TOKEN: TEST_TOKEN, ...env });
  const code = await p.exited;
  return { code, out: p.output() };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

// Each CLI child reaps itself on this process's exit: more of them run at once than the default.
process.setMaxListeners(30);

const json = (out: string) => JSON.parse(out) as Record<string, any>;

test('bad arguments exit 2 with the reason and the usage', async (ctx) => {
  const cases: [string[], RegExp][] = [
    [[], /a verb is needed/],
    [['frobnicate'], /unknown verb: frobnicate/],
    [['customer', 'not-a-uuid'], /wrong arguments for customer/],
    [['dlq', 'discard', '7'], /wrong arguments for dlq discard/],
    [['dlq', 'retry', 'x'], /wrong arguments for dlq retry/],
    [['status', '--field', 'name'], /status does not take --field/],
    [['status', '--colour'], /Unknown option '--colour'/],
    [['conflicts', '--limit', '0'], /--limit must be a whole number from 1 to 100/],
    [['backfill', '--from', 'postgres', '--invoices'], /wrong arguments for backfill/],
    [['backfill', '--from', 'postgres', '--write-back'], /wrong arguments for backfill/],
  ];
  const results = await Promise.all(cases.map(([args]) => rtws(ctx, args)));
  for (const [i, [args, message]] of cases.entries()) {
    const r = results[i]!;
    assert.is(r.code, 2, `${args.join(' ')}: ${r.out}`);
    assert.match(r.out, message);
    assert.match(r.out, /usage: npm run rtws -- <verb>/);
  }
});

test('the installed command runs the same CLI from any directory', async () => {
  const bin = new URL('../../deploy/bin/rtws.mjs', import.meta.url).pathname;
  const p = spawn(process.execPath, [bin, '--help'], { cwd: '/', env: { PATH: process.env.PATH } });
  let out = '';
  p.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const code = await new Promise<number | null>((r) => p.once('exit', r));
  assert.is(code, 0, out);
  assert.match(out, /^usage: npm run rtws -- <verb>/);
});

test('an unreachable rtws, a refused token, a missing scope and an unknown id', async (ctx) => {
  const port = await closedPort();
  const [down, wrong, scope, unknown, noToken] = await Promise.all([
    rtws(ctx, ['status'], { RTWS_URL: `http://127.0.0.1:${port}` }),
    rtws(ctx, ['status'], { RTWS_API_TOKEN: 'not-the-token-0123456789' }),
    rtws(ctx, ['dlq', 'retry', '1'], { RTWS_API_TOKEN: READ_TOKEN }),
    rtws(ctx, ['customer', '00000000-0000-4000-8000-000000000000']),
    rtws(ctx, ['status'], { RTWS_API_TOKEN: '' }),
  ]);
  assert.is(down.code, 3, down.out);
  assert.match(down.out, `cannot reach rtws at http://127.0.0.1:${port} (ECONNREFUSED)`);
  assert.is(wrong.code, 1, wrong.out);
  assert.match(wrong.out, /refused the token \(401\)/);
  assert.is(scope.code, 1, scope.out);
  assert.match(
    scope.out,
    /forbidden \(403\): .*needs the operate scope; the token oncall has read/,
  );
  assert.is(unknown.code, 1, unknown.out);
  assert.match(unknown.out, /not found \(404\): customer/);
  assert.is(noToken.code, 2, noToken.out);
  assert.match(noToken.out, /configuration error: RTWS_API_TOKEN/);
});

test('status: a table, or the JSON of GET /status', async (ctx) => {
  const [table, asJson] = await Promise.all([
    rtws(ctx, ['status']),
    rtws(ctx, ['status', '--json']),
  ]);
  assert.is(table.code, 0, table.out);
  assert.match(table.out, /^target\s+state\s+account\s+synced\s+pending/m);
  assert.match(table.out, /^stripe\s+on\s+acct_\w+\s+\d+/m);
  assert.match(table.out, /^CHANGES\s+\d+/m);
  assert.is(asJson.code, 0, asJson.out);
  const s = json(asJson.out);
  assert.equal(
    s.targets.map((t: { name: string }) => t.name),
    ['stripe', 'salesforce'],
  );
  assert.ok(s.counters.changes_published >= 2);
});

test('customer: its targets and timeline; resync offers it again', async (ctx) => {
  const id = ctx.ids[1]!;
  const [shown, asJson, resync, resyncUnknown] = await Promise.all([
    rtws(ctx, ['customer', id]),
    rtws(ctx, ['customer', id, '--json', '--limit', '3']),
    rtws(ctx, ['resync', id]),
    rtws(ctx, ['resync', '00000000-0000-4000-8000-000000000000']),
  ]);
  assert.is(shown.code, 0, shown.out);
  assert.match(shown.out, new RegExp(`^customer ${id} · v1`, 'm'));
  assert.match(shown.out, /^stripe\s+synced\s+cus_\w+\s+1\/1/m);
  // Its correlation id, last: the id of the API request that created it.
  assert.match(shown.out, /\sfact\s+api\s+created v1\s+[0-9a-f-]{36}$/m);
  assert.match(shown.out, /\soutcome\s+stripe\s+Stripe customer created cus_\w+/m);
  const j = json(asJson.out);
  assert.is(j.sync.customer_id, id);
  assert.is(j.timeline.entries.length, 3);
  assert.is(resync.code, 0, resync.out);
  assert.match(resync.out, `customer ${id} offered again to stripe, salesforce`);
  assert.is(resyncUnknown.code, 1);
  assert.match(resyncUnknown.out, /not found \(404\)/);
});

test('dlq list, show, retry and discard', async (ctx) => {
  const names = ctx.s.t.names;
  const sink = jetStreamDeadLetters(jetstream(ctx.s.rtws.nats), names);
  for (const [i, source] of ['changes', 'invoices', 'changes'].entries())
    await sink.publish({
      source,
      stream: 'S',
      streamSeq: i + 1,
      subject:
        source === 'changes'
          ? names.customerSubject(ctx.ids[0]!)
          : names.invoiceSubject('inv', ctx.ids[0]!),
      reason: `letter ${i}`,
      deliveries: 1,
      data: new TextEncoder().encode('{"type":"Poison"}'),
    });
  // A reason may quote a target's message, and a name may hold control characters.
  await sink.publish({
    source: 'escapes',
    stream: 'S',
    streamSeq: 9,
    subject: names.customerSubject(ctx.ids[1]!),
    reason: 'title \u001b]0;owned\u0007 set',
    deliveries: 1,
    data: new TextEncoder().encode('{}'),
  });
  const listed = await rtws(ctx, ['dlq', 'list', '--source', 'changes', '--json']);
  assert.is(listed.code, 0, listed.out);
  const letters = json(listed.out).data as { id: number; reason: string }[];
  assert.equal(
    letters.map((l) => l.reason),
    ['letter 0', 'letter 2'],
  );
  const [first, second] = letters.map((l) => String(l.id));
  const [table, shown, bySubject] = await Promise.all([
    rtws(ctx, ['dlq', 'list']),
    rtws(ctx, ['dlq', 'show', first!]),
    rtws(ctx, ['dlq', 'list', '--subject', names.invoiceSubject('inv', ctx.ids[0]!), '--json']),
  ]);
  assert.match(table.out, /^id\s+source\s+subject/m);
  assert.match(table.out, /letter 1$/m);
  assert.not.match(table.out, '\u001b', 'no control character reaches the terminal');
  assert.match(table.out, 'title \\u001b]0;owned\\u0007 set');
  assert.equal(json(shown.out).payload, { encoding: 'json', data: { type: 'Poison' } });
  assert.equal(
    json(bySubject.out).data.map((l: { reason: string }) => l.reason),
    ['letter 1'],
  );
  const retried = await rtws(ctx, ['dlq', 'retry', first!, '999999']);
  assert.is(retried.code, 1, 'one of the two was unknown');
  assert.match(
    retried.out,
    new RegExp(`^${first}\\s+redriven to ${names.customerSubject(ctx.ids[0]!)}`, 'm'),
  );
  assert.match(retried.out, /^999999\s+not found \(404\)/m);
  const discarded = await rtws(ctx, ['dlq', 'discard', second!, '--reason', 'a test letter']);
  assert.is(discarded.code, 0, discarded.out);
  assert.match(discarded.out, `letter ${second} discarded, recorded as by default`);
  // The redriven poison message is dead-lettered again, under a new id.
  const left = json((await rtws(ctx, ['dlq', 'list', '--json'])).out).data as { id: number }[];
  const ids = left.map((l) => String(l.id));
  assert.ok(!ids.includes(first!) && !ids.includes(second!), ids.join());
});

test('conflicts by field and customer; pause and resume a target', async (ctx) => {
  await recordTargetConflict(ctx.s.rtws.sql, {
    customerId: ctx.ids[0]!,
    target: 'salesforce',
    field: 'phone',
    postgres: '1',
    held: '2',
    reason: 'salesforce is a target: the catalogue wins',
    foundBy: 'reconcile:1:x',
  });
  const [phone, name, table, paused] = await Promise.all([
    rtws(ctx, ['conflicts', '--field', 'phone', '--customer', ctx.ids[0]!, '--json']),
    rtws(ctx, ['conflicts', '--field', 'name']),
    rtws(ctx, ['conflicts']),
    rtws(ctx, ['pause', 'salesforce', '--reason', 'maintenance']),
  ]);
  assert.is(json(phone.out).data.length, 1);
  assert.match(name.out, /^no such conflict$/m);
  assert.match(table.out, /^\d+\s+[0-9a-f-]{36}\s+phone\s+salesforce\s+postgres/m);
  assert.match(paused.out, /^salesforce: paused$/m);
  const resumed = await rtws(ctx, ['resume', 'salesforce']);
  assert.match(resumed.out, /^salesforce: on$/m);
});

test('backfill (dry run and run), resync --all and reconcile run in rtws, followed here', async (ctx) => {
  const dry = await rtws(ctx, ['backfill', '--from', 'postgres', '--dry-run']);
  assert.is(dry.code, 0, dry.out);
  assert.equal(json(dry.out).counts, { skip: 2 });
  const run = await rtws(ctx, ['backfill', '--from', 'postgres']);
  assert.is(run.code, 0, run.out);
  assert.match(run.out, /^\{"backfill":\d+,"state":"done","scanned":2,"counts":\{"skip":2\}\}$/m);
  assert.match(run.out, /backfill \d+: done · scanned 2 · skip 2/);
  // On a terminal, a bar instead of JSON lines (util-linux's `script` gives the command one).
  const script = spawnSync('script', ['--version']);
  if (script.error) console.warn('skipped the terminal check: util-linux `script` is missing');
  else {
    // Not spawnSync: rtws answers from this process, whose event loop must keep running.
    const p = spawn(
      'script',
      [
        '-qec',
        `${process.execPath} --import tsx deploy/cli.ts backfill --from postgres`,
        '/dev/null',
      ],
      {
        cwd: new URL('../../', import.meta.url).pathname,
        env: { PATH: process.env.PATH, RTWS_URL: ctx.s.url, RTWS_API_TOKEN: TEST_TOKEN },
      },
    );
    let out = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const code = await new Promise<number | null>((r) => p.once('exit', r));
    assert.is(code, 0, out);
    assert.match(out, /\[#{30}\] 100% 2\/2 .* done/);
    assert.not.match(out, /"state"/);
  }
  const all = await rtws(ctx, ['resync', '--all']);
  assert.is(all.code, 0, all.out);
  assert.match(all.out, /"state":"done"/);
  const reconcile = await rtws(ctx, ['reconcile']);
  assert.is(reconcile.code, 0, reconcile.out);
  assert.match(reconcile.out, /^reconcile \d+ started/m);
  assert.match(reconcile.out, /"state":"done"/);
});

test('work that no worker runs, or that does not end done, exits 1', async () => {
  const api = await startSandboxRtws({ RTWS_ROLES: 'api' });
  try {
    const p = spawnCli(['backfill', '--from', 'postgres'], {
      RTWS_URL: api.url,
      RTWS_API_TOKEN: TEST_TOKEN,
    });
    assert.is(await p.exited, 1, p.output());
    assert.match(p.output(), /no rtws worker is running/);
    assert.match(p.output(), /still running in rtws/);
  } finally {
    await api.close();
  }
});

test('replay reads the stream with rtws configuration; npm run replay is the same verb', async (ctx) => {
  const id = ctx.ids[0]!;
  const r = await rtws(ctx, ['replay', id], ctx.s.t.env as Record<string, string>);
  assert.is(r.code, 0, r.out);
  assert.match(r.out, new RegExp(`recorded message\\(s\\) for customer ${id}`));
  // With the id of the request that created it.
  assert.match(r.out, /CustomerCreated\s+v1 origin=api {2}correlation=[0-9a-f-]{36} /);
  const npm = spawn('npm', ['run', '-s', 'replay', '--', id, '--json'], {
    cwd: new URL('../../', import.meta.url).pathname,
    env: { ...process.env, ...ctx.s.t.env },
  });
  let out = '';
  npm.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const code = await new Promise<number | null>((res) => npm.once('exit', res));
  assert.is(code, 0, out);
  const messages = JSON.parse(out) as { message: { type: string } }[];
  assert.is(messages[0]!.message.type, 'CustomerCreated');
});

test('replay --rebuild leaves out the events of another Stripe binding, as the live actor', async (ctx) => {
  const id = ctx.ids[1]!;
  const sync = await ctx.s.api('GET', `/customers/${id}/sync`);
  const stripeId = sync.body.targets.stripe.external_id as string;
  const [bound] = await ctx.s.rtws.sql<{ account_id: string; livemode: boolean }[]>`
    SELECT account_id, livemode FROM target_bindings WHERE target = 'stripe'`;
  // Two observations of its Stripe customer as it is: one of this binding, one of another.
  const observed = (eventId: string, account: string) =>
    encodeRecordedEvent(
      id,
      {
        type: 'StripeCustomerObserved',
        data: {
          eventId,
          eventType: 'customer.updated',
          stripeId,
          created: Math.floor(Date.now() / 1000),
          key: null,
          fields: { name: 'Grace Hopper', email: null, phone: null, address: null, metadata: {} },
          rtwsId: id,
        },
        at: 0,
      },
      { account, livemode: bound!.livemode },
    );
  const js = jetstream(ctx.s.rtws.nats);
  for (const [eventId, account] of [
    ['evt_replay_elsewhere', 'acct_Elsewhere'],
    ['evt_replay_bound', bound!.account_id],
  ] as const)
    await js.publish(ctx.s.t.names.customerSubject(id), JSON.stringify(observed(eventId, account)));
  const r = await rtws(ctx, ['replay', id, '--rebuild'], ctx.s.t.env as Record<string, string>);
  assert.is(r.code, 0, r.out);
  const rebuilt = r.out.slice(r.out.indexOf('rebuilt actor state:'));
  assert.match(rebuilt, 'evt_replay_bound');
  assert.not.match(rebuilt, 'evt_replay_elsewhere', 'skipped, as the live actor skips it');
});

test('erase: refused without the id confirmed; then followed until erased', async (ctx) => {
  const r = await ctx.s.api('POST', '/customers', { name: 'Erased From The Shell' });
  const id = r.body.id as string;
  const unconfirmed = await rtws(ctx, ['erase', id, '--confirm', ctx.ids[0]!]);
  assert.is(unconfirmed.code, 2, unconfirmed.out);
  assert.match(unconfirmed.out, /wrong arguments for erase/);
  assert.is((await ctx.s.api('GET', `/customers/${id}`)).status, 200, 'nothing was erased');
  const erased = await rtws(ctx, ['erase', id, '--confirm', id]);
  assert.is(erased.code, 0, erased.out);
  assert.match(erased.out, new RegExp(`^customer ${id} erased \\(erasure [0-9a-f-]+\\)`, 'm'));
  assert.match(erased.out, /^postgres\s+customer\s+1$/m);
  assert.is((await ctx.s.api('GET', `/customers/${id}`)).status, 404);
});

test.run();
