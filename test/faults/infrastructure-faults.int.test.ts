// Infrastructure faults are not poison. A message whose handling fails because Postgres or NATS is
// unavailable is tried again, in hand, until it succeeds, however long that takes, and never goes
// to the DLQ; a message that fails for a reason of its own is still dead-lettered on its last
// delivery. The faults are real: a Postgres.js connection to a port nothing listens on, and a
// NATS request nobody answers.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import postgres from 'postgres';
import { jetStreamDeadLetters } from '../../adapters/jetstream/dead-letters.ts';
import {
  startInboundConsumer,
  type InboundConsumer,
} from '../../adapters/jetstream/inbound-consumer.ts';
import { isInfrastructureFault } from '../../core/infrastructure.ts';
import { PermanentApplyError, UnavailableError } from '../../core/errors.ts';
import { silentLogger } from '../../core/ports.ts';
import { freePort } from '../harness/private-servers.ts';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';
import { eventually, waitFor } from '../harness/stream.ts';

const test = suite<{ t: TestEnvironment; o: Observer; refused: unknown; noResponders: unknown }>(
  'infrastructure faults',
);
test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
  const down = postgres(`postgres://postgres@127.0.0.1:${await freePort()}/x`, {
    max: 1,
    connect_timeout: 2,
    onnotice: () => {},
  });
  ctx.refused = await down`SELECT 1`.then(
    () => undefined,
    (err: unknown) => err,
  );
  await down.end({ timeout: 1 });
  ctx.noResponders = await ctx.o.nats
    .request(`${ctx.t.namespace}.nobody.home`, 'x', { timeout: 1_000 })
    .then(
      () => undefined,
      (err: unknown) => err,
    );
});
test.after(async (ctx) => {
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

test('what counts as NATS or Postgres being unavailable', ({ refused, noResponders }) => {
  assert.ok(refused, 'the connection was refused');
  assert.ok(isInfrastructureFault(refused), `Postgres down: ${(refused as Error).message}`);
  assert.ok(noResponders, 'the request went unanswered');
  assert.ok(isInfrastructureFault(noResponders), `NATS: ${(noResponders as Error).name}`);
  assert.ok(isInfrastructureFault(new UnavailableError('postgres')));
  assert.ok(isInfrastructureFault(new Error('wrapped', { cause: refused })), 'through a cause');
  const shutdown = Object.assign(new Error('terminating connection'), { code: '57P01' });
  assert.ok(isInfrastructureFault(shutdown), 'an admin shutdown');
  assert.not.ok(isInfrastructureFault(new Error('a bug')));
  assert.not.ok(isInfrastructureFault(new PermanentApplyError('a check constraint failed')));
  const constraint = Object.assign(new Error('duplicate key'), { code: '23505' });
  assert.not.ok(isInfrastructureFault(constraint), 'a constraint is the data, not the database');
});

async function dlqCount(o: Observer, t: TestEnvironment): Promise<number> {
  const jsm = await jetstreamManager(o.nats);
  return (await jsm.streams.info(t.names.streams.dlq).catch(() => undefined))?.state.messages ?? 0;
}

test('an event that meets Postgres down past its deliveries is handled once it is back', async ({
  t,
  o,
  refused,
}) => {
  const maxDeliver = 2;
  let tries = 0;
  let handled = 0;
  const failures = 6;
  const deliveries = new Set<number>();
  let consumer: InboundConsumer | undefined;
  try {
    consumer = await startInboundConsumer({
      nats: o.nats,
      names: t.names,
      log: silentLogger,
      deadLetters: jetStreamDeadLetters(jetstream(o.nats), t.names, 1_000),
      durable: 'infra_faults',
      eventFilter: 'customer.*',
      dlqSource: 'infra-fault-test',
      // Shorter than the waits between tries: the message is kept in hand all the same.
      delivery: { ackWaitMs: 3_000, maxDeliver },
      retry: { baseMs: 50, factor: 1, capMs: 50, jitter: 0 },
      handle: async (m) => {
        deliveries.add(m.info.deliveryCount);
        if (m.subject.endsWith('customer.deleted')) throw new Error('a bug of its own');
        if (++tries <= failures) throw refused;
        handled++;
        return { done: true };
      },
    });
    const js = jetstream(o.nats);
    await js.publish(t.names.legacyInboundSubject('stripe', 'customer.updated'), '{}', {
      msgID: 'evt_infra_1',
    });
    await waitFor(
      async () => handled,
      (n) => n >= 1,
      60_000,
    );
    await new Promise((r) => setTimeout(r, 1_000));
    assert.is(handled, 1, 'handled once Postgres answered, and once only');
    assert.is(tries, failures + 1, 'tried until it succeeded, more times than its deliveries');
    assert.equal([...deliveries], [1], 'kept in hand: never delivered again meanwhile');
    assert.is(await dlqCount(o, t), 0, 'nothing was dead-lettered');

    // A failure of its own still ends in the DLQ after its deliveries.
    await js.publish(t.names.legacyInboundSubject('stripe', 'customer.deleted'), '{}', {
      msgID: 'evt_infra_2',
    });
    const letters = await eventually(
      () => dlqCount(o, t),
      (n) => n === 1,
      30_000,
    );
    assert.is(letters, 1, 'dead-lettered after its deliveries');
  } finally {
    await consumer?.stop();
  }
});

test.run();
