// An erasure leaves no byte of the customer in NATS's files: its messages on CHANGES and INVOICES,
// and its actor's snapshot in KV, are deleted with their bytes overwritten. Checked by reading a
// private nats-server's store directory, where a purge alone leaves them.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { deleteErasing, eraseFromStreams } from '../../adapters/jetstream/erase.ts';
import { jetstreamManager } from '@nats-io/jetstream';
import { onPrivateNats, type PrivateEnvironment } from '../harness/private-environment.ts';
import { waitFor } from '../harness/stream.ts';

const test = suite<{ env?: PrivateEnvironment }>('erased bytes');

test.before(async (ctx) => {
  ctx.env = await onPrivateNats();
});
test.after(async (ctx) => {
  await ctx.env?.close();
});

/** Whether any file under the server's store holds `text`. */
function stored(dir: string, text: string): boolean {
  const needle = Buffer.from(text);
  const walk = (d: string): boolean =>
    readdirSync(d).some((name) => {
      const path = join(d, name);
      return statSync(path).isDirectory() ? walk(path) : readFileSync(path).includes(needle);
    });
  return walk(dir);
}

test("the customer's messages and snapshot are overwritten, not only removed", async ({ env }) => {
  const { t, o, server } = env!;
  const dir = server.dir!;
  const js = jetstream(o.nats);
  const jsm = await jetstreamManager(o.nats);
  const customerId = '5a3c1c1e-9d2f-4b8e-a1b2-0c0ffee00001';
  const kept = '7b4d2d2f-0e30-4c9f-b2c3-0c0ffee00002';
  const secret = 'quillon.erased@example.com';
  const other = 'quillon.kept@example.com';
  for (let i = 0; i < 3; i++)
    await js.publish(t.names.customerSubject(customerId), JSON.stringify({ email: secret, i }));
  await js.publish(t.names.customerSubject(kept), JSON.stringify({ email: other }));
  const kv = await new Kvm(js).create(t.names.bucket('ACTORS'), { history: 1 });
  const revision = await kv.put(customerId, JSON.stringify({ snapshot: { email: secret } }));
  assert.ok(
    await waitFor(
      async () => stored(dir, secret),
      (s) => s,
      5_000,
    ),
    'written to the files',
  );

  await eraseFromStreams(o.nats, jsm, t.names, { customerId, externalIds: [], invoiceIds: [] });
  await deleteErasing(jsm, `KV_${t.names.bucket('ACTORS')}`, revision);
  await kv.create(customerId, JSON.stringify({ erased: true }));

  assert.not.ok(
    await waitFor(
      async () => stored(dir, secret),
      (s) => !s,
      5_000,
    ),
    'no byte of it left in the files',
  );
  assert.ok(stored(dir, other), "another customer's messages stay");
  assert.equal((await kv.get(customerId))?.json(), { erased: true });
});

test.run();
