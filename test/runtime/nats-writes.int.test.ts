// The nats.js patch (deploy/patches/@nats-io+nats-core+3.4.0.patch): what a connection sends in
// one turn of the event loop goes out in one socket write, what was sent just before a close still
// reaches the server, and requests behave as before (one that got its reply no longer builds an
// error only to throw it away).
import type net from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../../adapters/jetstream/connect.ts';
import { sharedServices, uniqueName } from '../harness/services.ts';
import { eventually } from '../harness/stream.ts';

const test = suite<{ sender?: NatsConnection; receiver?: NatsConnection; prefix: string }>(
  'nats writes',
);

test.before.each(async (ctx) => {
  const { natsUrl } = await sharedServices();
  ctx.sender = await connectNats({ servers: [natsUrl], name: 'rtws-test-sender' });
  ctx.receiver = await connectNats({ servers: [natsUrl], name: 'rtws-test-receiver' });
  ctx.prefix = uniqueName('natswrites');
});

test.after.each(async (ctx) => {
  await ctx.sender?.close();
  await ctx.receiver?.close();
  ctx.sender = ctx.receiver = undefined;
});

/** The connection's socket, where the patch is seen: nats.js does not expose it. */
function socketOf(nc: NatsConnection): net.Socket {
  const socket = (nc as unknown as { protocol: { transport: { socket?: net.Socket } } }).protocol
    .transport.socket;
  if (!socket) throw new Error('the connection has no socket');
  return socket;
}

/** The requests the connection still waits for a reply to: nats.js does not expose them. */
function pendingRequests(nc: NatsConnection): number {
  return (
    nc as unknown as { protocol: { muxSubscriptions: { size(): number } } }
  ).protocol.muxSubscriptions.size();
}

/** Counts the socket's writes while `body` runs, then until the turn after it. */
async function writesDuring(nc: NatsConnection, body: () => Promise<void>): Promise<number> {
  const socket = socketOf(nc);
  const write = socket.write.bind(socket);
  let writes = 0;
  socket.write = ((...args: Parameters<net.Socket['write']>) => {
    writes++;
    return write(...args);
  }) as net.Socket['write'];
  try {
    await body();
    await nextTurn();
    await nextTurn();
  } finally {
    // The instance's own property goes, and the prototype's method shows through again.
    delete (socket as Partial<net.Socket>).write;
  }
  return writes;
}

/** Collects what arrives on the subject, in order. */
async function collect(nc: NatsConnection, subject: string): Promise<string[]> {
  const got: string[] = [];
  nc.subscribe(subject, { callback: (_err, m) => void got.push(m.string()) });
  await nc.flush();
  return got;
}

test('publishes made across microtasks of one turn go out in one write, in order', async (ctx) => {
  const subject = `${ctx.prefix}.a`;
  const got = await collect(ctx.receiver!, subject);
  const sent = Array.from({ length: 40 }, (_, i) => `m${i}`);
  const writes = await writesDuring(ctx.sender!, async () => {
    // As the steps of several actors do: each publish follows an await of something settled.
    for (const m of sent) {
      await Promise.resolve();
      ctx.sender!.publish(subject, m);
    }
  });
  assert.is(writes, 1, `one write for the turn's ${sent.length} publishes`);
  const arrived = await eventually(
    async () => got.slice(),
    (g) => g.length === sent.length,
    5_000,
  );
  assert.equal(arrived, sent, 'every publish arrived, in the order sent');
});

test('publishes of different turns go out in writes of their own, none held back', async (ctx) => {
  const subject = `${ctx.prefix}.b`;
  const got = await collect(ctx.receiver!, subject);
  const writes = await writesDuring(ctx.sender!, async () => {
    for (let i = 0; i < 5; i++) {
      ctx.sender!.publish(subject, `t${i}`);
      await nextTurn();
    }
  });
  assert.is(writes, 5, 'one write per turn');
  const arrived = await eventually(
    async () => got.slice(),
    (g) => g.length === 5,
    5_000,
  );
  assert.equal(arrived, ['t0', 't1', 't2', 't3', 't4']);
});

test('a publish made just before close reaches the server', async (ctx) => {
  const subject = `${ctx.prefix}.c`;
  const got = await collect(ctx.receiver!, subject);
  ctx.sender!.publish(subject, 'last words');
  await ctx.sender!.close();
  ctx.sender = undefined;
  const arrived = await eventually(
    async () => got.slice(),
    (g) => g.length === 1,
    5_000,
  );
  assert.equal(arrived, ['last words']);
});

test('requests still resolve with their reply, time out, and report no responders', async (ctx) => {
  const subject = `${ctx.prefix}.d`;
  ctx.receiver!.subscribe(subject, { callback: (_err, m) => void m.respond(`re:${m.string()}`) });
  await ctx.receiver!.flush();
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => void unhandled.push(err);
  process.on('unhandledRejection', onUnhandled);
  try {
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        ctx.sender!.request(subject, `q${i}`, { timeout: 2_000 }).then((m) => m.string()),
      ),
    );
    assert.equal(
      replies,
      Array.from({ length: 20 }, (_, i) => `re:q${i}`),
    );
    const silent = `${ctx.prefix}.silent`;
    ctx.receiver!.subscribe(silent, { callback: () => {} });
    await ctx.receiver!.flush();
    const timedOut = await ctx.sender!.request(silent, 'x', { timeout: 200 }).then(
      () => 'answered',
      (err: unknown) => (err as Error).name,
    );
    assert.is(timedOut, 'TimeoutError');
    // Wrapped in a RequestError that names its cause.
    const nobody = await ctx.sender!.request(`${ctx.prefix}.nobody`, 'x', { timeout: 2_000 }).then(
      () => 'answered',
      (err: unknown) => (err as Error & { cause?: Error }).cause?.message,
    );
    assert.match(String(nobody), /no responders/i);
    assert.is(pendingRequests(ctx.sender!), 0, 'every request left the table of those awaited');
    await nextTurn();
    assert.equal(unhandled.map(String), [], 'no rejection went unhandled');
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

test.run();
