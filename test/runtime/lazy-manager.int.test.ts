// The API's JetStream manager is made when first needed, not at start: one that could not be
// made (NATS away at that moment) fails that call only, and the next call makes it again.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connectNats, lazyManager } from '../../adapters/jetstream/connect.ts';
import { privateNats, type PrivateServer } from '../harness/private-servers.ts';
import type { NatsConnection } from '@nats-io/transport-node';

const test = suite<{ server?: PrivateServer; nats?: NatsConnection }>('lazy JetStream manager');

test.after(async (ctx) => {
  await ctx.nats?.close();
  await ctx.server?.stop();
});

test('a manager that could not be made is made again on the next call', async (ctx) => {
  const server = (ctx.server = await privateNats());
  const nats = (ctx.nats = await connectNats({ servers: [server.url], name: 'lazy-manager' }));
  const jsm = lazyManager(nats);
  await server.crash();
  const failed = await jsm().then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(failed, 'no manager while NATS is away');
  await server.start();
  // Until the client has reconnected a call may still fail; a manager kept failed never recovers.
  let manager: Awaited<ReturnType<typeof jsm>> | undefined;
  for (const until = Date.now() + 30_000; !manager && Date.now() < until;)
    manager = await jsm().catch(() => undefined);
  assert.ok(manager, 'made once NATS is back');
  assert.ok((await manager.getAccountInfo()).limits);
  assert.is(await jsm(), manager, 'and kept');
});

test.run();
