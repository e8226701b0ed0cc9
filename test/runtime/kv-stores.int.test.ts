// The KV stores against a real server: revision CAS on snapshots, and leases that the server
// itself expires after the bucket's TTL.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { jetstream } from '@nats-io/jetstream';
import { randomUUID } from 'node:crypto';
import { ConcurrencyError } from '../../core/errors.ts';
import type { LeaseStore, SnapshotStore } from '../../core/worker-ports.ts';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';
import { openLeaseStore } from '../../adapters/jetstream/kv-lease-store.ts';
import { openSnapshotStore } from '../../adapters/jetstream/kv-snapshot-store.ts';

const TTL_MS = 1_000;

const test = suite<{ t: TestEnvironment; o: Observer; snapshots: SnapshotStore; leases: LeaseStore }>('kv stores');

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
  ctx.snapshots = await openSnapshotStore(jetstream(ctx.o.nats), ctx.t.names.bucket('ACTORS'));
  ctx.leases = await openLeaseStore(ctx.o.nats, { bucket: ctx.t.names.bucket('LEASES'), ttlMs: TTL_MS });
});

test.after(async (ctx) => {
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => undefined, (err: unknown) => err);
}

test('snapshots: create once, then update only at the revision read', async ({ snapshots }) => {
  const id = randomUUID();
  assert.is(await snapshots.load(id), undefined);
  const r1 = await snapshots.save(id, { n: 1 }, undefined);
  assert.instance(await rejection(snapshots.save(id, { n: 'again' }, undefined)), ConcurrencyError, 'a second create loses');
  const r2 = await snapshots.save(id, { n: 2 }, r1);
  assert.instance(await rejection(snapshots.save(id, { n: 'stale' }, r1)), ConcurrencyError, 'a stale revision loses');
  assert.equal(await snapshots.load(id), { value: { n: 2 }, revision: r2 });
});

test('leases: one holder at a time, renewed by revision, freed by release', async ({ leases }) => {
  assert.is(leases.ttlMs, TTL_MS);
  const rev = await leases.claim(1, 'a');
  assert.ok(rev !== undefined);
  assert.is(await leases.claim(1, 'b'), undefined, 'held: no second claim');
  assert.equal([...(await leases.holders(4))], [[1, { holder: 'a', revision: rev }]]);
  const renewed = await leases.renew(1, 'a', rev);
  assert.instance(await rejection(leases.renew(1, 'a', rev)), ConcurrencyError, 'a stale renewal loses');
  await leases.release(1, renewed);
  assert.equal([...(await leases.holders(4))], []);
  assert.ok((await leases.claim(1, 'b')) !== undefined, 'released: free at once');
});

test('leases and presence lapse on the server once not renewed for the TTL', async ({ leases }) => {
  await leases.heartbeat('w1');
  assert.ok((await leases.liveWorkers()).includes('w1'));
  const rev = await leases.claim(2, 'w1');
  assert.ok(rev !== undefined);
  await new Promise((r) => setTimeout(r, TTL_MS * 2));
  assert.not.ok((await leases.liveWorkers()).includes('w1'), 'presence expired');
  assert.not.ok((await leases.holders(4)).has(2), 'lease expired');
  assert.ok((await leases.claim(2, 'w2')) !== undefined, 'another worker takes it');
  assert.instance(await rejection(leases.renew(2, 'w1', rev)), ConcurrencyError, 'the old holder cannot renew');
});

test('a lease is taken back at the revision read, and only at it', async ({ leases }) => {
  await leases.claim(3, 'w4');
  const seen = (await leases.holders(4)).get(3)!;
  const taken = await leases.renew(3, 'w4', seen.revision);
  assert.equal((await leases.holders(4)).get(3), { holder: 'w4', revision: taken });
  assert.instance(await rejection(leases.renew(3, 'w4', seen.revision)), ConcurrencyError, 'not once it changed');
  await leases.release(3, taken);
});

test('leaving removes a worker at once', async ({ leases }) => {
  await leases.heartbeat('w3');
  await leases.leave('w3');
  assert.not.ok((await leases.liveWorkers()).includes('w3'));
});

test.run();
