// The DLQ while NATS cannot answer: reading, redriving or discarding a letter fails as NATS's
// unavailability (the API's 503), never as "no such letter" (a 404 an operator would believe).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { isInfrastructureFault } from '../../core/infrastructure.ts';
import { NotFoundError } from '../../core/errors.ts';
import { names as subjectNames } from '../../core/subjects.ts';
import { connectNats } from '../../adapters/jetstream/connect.ts';
import { jetStreamDeadLetters } from '../../adapters/jetstream/dead-letters.ts';
import { deadLetterQueue } from '../../adapters/jetstream/dlq.ts';
import { ensureStreams } from '../../adapters/jetstream/streams.ts';
import { privateNats, type PrivateServer } from '../harness/private-servers.ts';

const test = suite<{ server?: PrivateServer; nats?: NatsConnection }>('DLQ while NATS is away');

test.after(async (ctx) => {
  await ctx.nats?.close();
  await ctx.server?.stop();
});

test('a letter read while NATS is away is unavailable, not missing', async (ctx) => {
  const server = (ctx.server = await privateNats());
  const nats = (ctx.nats = await connectNats({ servers: [server.url], name: 'dlq-outage' }));
  const names = subjectNames('dlqoutage', 4);
  await ensureStreams(await jetstreamManager(nats), names, {
    maxAgeSeconds: 3_600,
    maxBytes: 64 * 1024 * 1024,
  });
  await jetStreamDeadLetters(jetstream(nats), names).publish({
    source: 'changes',
    stream: names.streams.changes,
    streamSeq: 1,
    subject: names.customerSubject('00000000-0000-4000-8000-000000000001'),
    reason: 'bad',
    deliveries: 1,
    data: new TextEncoder().encode('{}'),
  });
  const dlq = await deadLetterQueue(nats, names);
  assert.is((await dlq.get(1)).reason, 'bad');
  await assertNotFound(() => dlq.get(2));
  await server.crash();
  for (const call of [() => dlq.get(1), () => dlq.redrive(1)]) {
    const err = await call().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err, 'the call failed');
    assert.not.instance(err, NotFoundError);
    assert.ok(isInfrastructureFault(err), `unavailable: ${(err as Error).name}`);
  }
});

async function assertNotFound(call: () => Promise<unknown>): Promise<void> {
  const err = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(err, NotFoundError, 'a letter that is not there is missing');
}

test.run();
