// The SnapshotStore port, written once and run against each implementation (in memory for the
// runtime's unit tests, the KV bucket in production): revision CAS is what keeps two workers
// from both writing one actor.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { ConcurrencyError } from '../../core/errors.ts';
import { SnapshotJson, type SnapshotStore } from '../../core/worker-ports.ts';
import { rejection, type SuiteHooks } from './contract.ts';

export interface SnapshotStoreFactory extends SuiteHooks {
  /** A new, empty store. */
  open(): Promise<SnapshotStore>;
}

export function snapshotStoreContract(implementation: string, factory: SnapshotStoreFactory): void {
  const test = suite<{ snapshots: SnapshotStore }>(`snapshot store (${implementation})`);
  test.before(async () => factory.before?.());
  test.after(async () => factory.after?.());
  test.before.each(async (ctx) => {
    ctx.snapshots = await factory.open();
  });

  test('create once, then update only at the revision read', async ({ snapshots }) => {
    const id = randomUUID();
    assert.is(await snapshots.load(id), undefined);
    const r1 = await snapshots.save(id, { n: 1 }, undefined);
    assert.instance(
      await rejection(snapshots.save(id, { n: 'again' }, undefined)),
      ConcurrencyError,
      'a second create loses',
    );
    const r2 = await snapshots.save(id, { n: 2 }, r1);
    assert.instance(
      await rejection(snapshots.save(id, { n: 'stale' }, r1)),
      ConcurrencyError,
      'a stale revision loses',
    );
    assert.equal(await snapshots.load(id), { value: { n: 2 }, revision: r2 });
  });

  test('a saved value is a copy: changing the object afterwards changes nothing', async ({
    snapshots,
  }) => {
    const id = randomUUID();
    const value = { n: 1, nested: { k: 'v' } };
    await snapshots.save(id, value, undefined);
    value.nested.k = 'changed';
    assert.equal((await snapshots.load(id))?.value, { n: 1, nested: { k: 'v' } });
  });

  test('a snapshot given as JSON text is stored as that text, and loads as its value', async ({
    snapshots,
  }) => {
    const id = randomUUID();
    const r1 = await snapshots.save(id, new SnapshotJson('{"n":1,"nested":{"k":"v"}}'), undefined);
    assert.equal(await snapshots.load(id), { value: { n: 1, nested: { k: 'v' } }, revision: r1 });
    assert.instance(
      await rejection(snapshots.save(id, new SnapshotJson('{"n":"stale"}'), undefined)),
      ConcurrencyError,
      'the same revision check',
    );
  });

  test('keys lists every stored actor, once', async ({ snapshots }) => {
    const ids = [randomUUID(), randomUUID()];
    for (const id of ids) await snapshots.save(id, { id }, undefined);
    const r = (await snapshots.load(ids[0]!))!.revision;
    await snapshots.save(ids[0]!, { id: ids[0], again: true }, r);
    const keys: string[] = [];
    for await (const k of snapshots.keys()) keys.push(k);
    assert.equal(keys.sort(), [...ids].sort());
  });

  test.run();
}
