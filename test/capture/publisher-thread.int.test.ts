// The publisher on a thread of its own (RTWS_PUBLISHER_THREAD, on by default when the process has
// other roles): every committed change lands once, in order; its figures and log lines reach the
// process; a stop publishes what was committed before it; and a thread that cannot start fails
// the start with a clear error rather than leaving the outbox unread.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { recordingLogger } from '../webhooks/signing.ts';
import { startRtws } from '../../deploy/rtws.ts';
import { startPublisherThread } from '../../deploy/wiring/publisher-thread.ts';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';
import { eventually, readStream } from '../harness/stream.ts';

const test = suite<{ t: TestEnvironment; o: Observer }>('publisher thread');

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
});

test.after(async (ctx) => {
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

test('with the API in the process, changes are published from the thread, in order; a stop publishes the rest', async (ctx) => {
  const { t, o } = ctx;
  const log = recordingLogger();
  const { lines } = log;
  const rtws = await startRtws(t.config({ RTWS_ROLES: 'api,publisher' }), log);
  let closed = false;
  try {
    assert.ok(
      lines.some((l) => l.msg === 'outbox publisher runs on its own thread'),
      JSON.stringify(lines.map((l) => l.msg)),
    );
    const [c] = await o.sql<{ id: string }[]>`
      INSERT INTO customers (name, email) VALUES ('Thread', 'thread@example.com') RETURNING id`;
    const id = c!.id;
    for (let i = 1; i <= 20; i++)
      await o.sql`UPDATE customers SET name = ${`Thread ${i}`} WHERE id = ${id}`;
    const changes = () =>
      readStream(o.nats, t.names.streams.changes, t.names.customerHistoryFilter(id));
    const landed = await eventually(changes, (c) => c.length >= 21, 15_000);
    assert.equal(
      landed.map((m) => m.message.metadata.version),
      Array.from({ length: 21 }, (_, i) => i + 1),
    );
    // The thread's figures and its log lines reach the process.
    const stats = await eventually(
      async () => ({ ...rtws.publisher!.stats }),
      (s) => s.published >= 21,
      5_000,
    );
    assert.ok(stats.published >= 21 && stats.leader, JSON.stringify(stats));
    const active = lines.find((l) => l.msg === 'outbox publisher is active');
    assert.ok(active, 'the thread logs through the process logger');
    assert.equal(
      {
        thread: (active.obj as { thread?: boolean }).thread,
        role: (active.obj as { role?: string }).role,
      },
      { thread: true, role: 'publisher' },
    );

    // Rows committed just before the stop are published by it, not left behind.
    for (let i = 21; i <= 30; i++)
      await o.sql`UPDATE customers SET name = ${`Thread ${i}`} WHERE id = ${id}`;
    await rtws.close();
    closed = true;
    assert.is((await changes()).length, 31);
    const [left] = await o.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM outbox`;
    assert.is(left!.n, 0);
  } finally {
    if (!closed) await rtws.close();
  }
});

test('a thread that cannot start fails the start, naming why', async (ctx) => {
  const config = ctx.t.config();
  const err = await startPublisherThread(
    {
      databaseUrl: config.databaseUrl,
      natsServers: ['nats://127.0.0.1:1'],
      namespace: ctx.t.namespace,
      partitions: config.partitions,
      options: { pollMs: 1_000, batchSize: 100, window: 16 },
    },
    recordingLogger(),
  ).then(
    async (p) => {
      await p.stop();
      return undefined;
    },
    (e: unknown) => e,
  );
  assert.ok(err instanceof Error, 'the start failed');
  assert.match(String(err), /CONNECTION_REFUSED|ECONNREFUSED|connect/i);
});

test.run();
