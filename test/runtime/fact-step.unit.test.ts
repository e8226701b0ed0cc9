import { NewerVersionError } from '../../core/errors.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import type { CustomerSnapshot } from '../../actors/customer/index.ts';
import { ActorCache } from '../../actors/runtime/actor-cache.ts';
import {
  LeaseLostError,
  SnapshotContentionError,
  SnapshotFormatError,
} from '../../actors/runtime/errors.ts';
import { parseFact } from '../../actors/customer/fact-message.ts';
import { applyEvent } from '../../actors/runtime/fact-step.ts';
import { decodeActor, encodeActor } from '../../actors/customer/snapshot-codec.ts';
import { rebuild } from '../../actors/runtime/rebuild.ts';
import { customerKind } from '../../actors/customer/kind.ts';
import { fact } from './facts.ts';
import { MemoryStore } from './memory-snapshot-store.ts';

const T0 = 1_700_000_000_000;
const kind = customerKind();

function deps(store: MemoryStore, holds = () => true) {
  return {
    store,
    cache: new ActorCache<CustomerSnapshot>({ maxActors: 10, idleMs: 60_000 }),
    holds,
    partition: 0,
    kind,
  };
}

/** A fact made at T0 + version: one of an older version is older, as outside a restore. */
const event = (id: string, version: number, at = T0 + version) => {
  const f = fact(id, version);
  const occurred_at = new Date(T0 + version).toISOString();
  return { ...f, metadata: { ...f.metadata, occurred_at }, at };
};

test('a fact creates the actor, saves it and records the Stripe create', async () => {
  const store = new MemoryStore();
  const id = randomUUID();
  const result = await applyEvent(deps(store), id, event(id, 1));
  assert.ok(result.saved);
  assert.is(result.decision.intents[0]?.type, 'CreateStripeCustomer');
  const stored = decodeActor(id, store.entries.get(id)!.value);
  assert.is(stored.context.desired?.version, 1);
});

test('a stale or repeated fact writes nothing', async () => {
  const store = new MemoryStore();
  const id = randomUUID();
  const d = deps(store);
  await applyEvent(d, id, event(id, 2));
  const again = await applyEvent(d, id, event(id, 1));
  assert.not.ok(again.saved);
  assert.is(store.saves, 1);
});

test('a lost CAS race reloads the newer state and decides again', async () => {
  const store = new MemoryStore();
  const id = randomUUID();
  const d = deps(store);
  await applyEvent(d, id, event(id, 1));
  // Another writer (a previous holder of the partition) saves version 2 behind our cache's back.
  store.interleave.push(() => {
    const rev = store.entries.get(id)!.revision;
    const next = rebuild(kind, id, [
      { message: fact(id, 1), at: T0 + 1 },
      { message: fact(id, 2), at: T0 + 2 },
    ]);
    store.entries.set(id, { value: encodeActor(next), revision: rev + 100 });
  });
  const savesBefore = store.saves;
  const result = await applyEvent(d, id, event(id, 3));
  assert.ok(result.saved);
  assert.is(store.saves, savesBefore + 1, 'the first save lost, the second won');
  assert.is(result.decision.snapshot.context.desired?.version, 3);
  const stored = decodeActor(id, store.entries.get(id)!.value);
  assert.is(stored.context.desired?.version, 3);
});

test('write-behind: steps stay in memory until the one that is saveEvery ahead saves them all', async () => {
  const store = new MemoryStore();
  const id = randomUUID();
  const d = { ...deps(store), saveEvery: 3 };
  const first = await applyEvent(d, id, event(id, 1));
  const second = await applyEvent(d, id, event(id, 2));
  assert.equal([first.unsaved, second.unsaved], [true, true]);
  assert.is(store.saves, 0, 'nothing written yet');
  assert.is(d.cache.peek(id)?.unsaved, 2);
  assert.is(d.cache.peek(id)?.snapshot.context.desired?.version, 2, 'memory is ahead');
  const stale = await applyEvent(d, id, event(id, 1));
  assert.ok(!stale.saved && stale.unsaved, 'a step that changes nothing still waits for the save');
  const third = await applyEvent(d, id, event(id, 3));
  assert.not.ok(third.unsaved);
  assert.is(store.saves, 1, 'one write covers the three steps');
  const stored = decodeActor(id, store.entries.get(id)!.value);
  assert.is(stored.context.desired?.version, 3);
  assert.is(d.cache.peek(id)?.unsaved, 0);
});

test('write-behind: a step the kind says must be saved is saved at once', async () => {
  const store = new MemoryStore();
  const id = randomUUID();
  const mustSave = { ...kind, mustSave: () => true };
  const result = await applyEvent(
    { ...deps(store), kind: mustSave, saveEvery: 32 },
    id,
    event(id, 1),
  );
  assert.not.ok(result.unsaved);
  assert.is(store.saves, 1);
});

test('write-behind: a snapshot someone else wrote under unsaved steps is not decided on', async () => {
  const store = new MemoryStore();
  const id = randomUUID();
  const d = { ...deps(store), saveEvery: 2 };
  await applyEvent(d, id, event(id, 1));
  await applyEvent(d, id, event(id, 2));
  assert.ok((await applyEvent(d, id, event(id, 3))).unsaved);
  // Another writer saves behind the unsaved step 3: deciding again on theirs would leave it out.
  store.interleave.push(() => {
    const rev = store.entries.get(id)!.revision;
    store.entries.set(id, { ...store.entries.get(id)!, revision: rev + 100 });
  });
  const err = await applyEvent(d, id, event(id, 4)).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(err, SnapshotContentionError);
  assert.is(d.cache.peek(id), undefined, 'the unsaved state is dropped');
});

test('a step whose lease lapsed neither saves nor acks', async () => {
  const store = new MemoryStore();
  const id = randomUUID();
  try {
    await applyEvent(
      deps(store, () => false),
      id,
      event(id, 1),
    );
    assert.unreachable('must throw');
  } catch (err) {
    assert.instance(err, LeaseLostError);
  }
  assert.is(store.saves, 0);
});

test('a foreign snapshot is refused, not resumed', () => {
  const id = randomUUID();
  assert.throws(
    () => decodeActor(id, { machineVersion: 0, snapshot: {} }),
    (e: unknown) => e instanceof SnapshotFormatError,
  );
  assert.throws(
    () => decodeActor(id, { machineVersion: 999, snapshot: {} }),
    (e: unknown) => e instanceof NewerVersionError,
    'a newer machine wrote it: left for a process that can read it',
  );
  assert.throws(
    () => decodeActor(id, null),
    (e: unknown) => e instanceof SnapshotFormatError,
  );
});

test('parseFact accepts a fact and explains each rejection', () => {
  const id = randomUUID();
  const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  const ok = parseFact(enc(fact(id, 1)), id, T0);
  assert.ok(ok.ok && ok.event.at === T0);
  const bad = (data: Uint8Array, subjectId: string = id) => {
    const r = parseFact(data, subjectId, T0);
    return r.ok ? 'accepted' : r.reason;
  };
  assert.match(bad(new Uint8Array([0xff])), /not JSON/);
  assert.match(bad(enc({ type: 'CustomerUpdated' })), /not a CustomerChanged/);
  assert.match(bad(enc(fact(id, 1)), randomUUID()), /does not match/);
  assert.match(bad(enc(fact('a*b', 1)), 'a*b'), /not a valid actor key/);
});

test('rebuild skips what the live run dead-lettered and folds the rest', () => {
  const id = randomUUID();
  const snapshot = rebuild(kind, id, [
    { message: fact(id, 1), at: T0 },
    { message: null, at: T0 + 1 },
    { message: { type: 'CustomerUpdated', data: 'nope' }, at: T0 + 2 },
    { message: fact(randomUUID(), 5), at: T0 + 3 },
    { message: fact(id, 2), at: T0 + 4 },
  ]);
  assert.is(snapshot.context.desired?.version, 2);
  assert.is(snapshot.context.desired?.at, T0 + 4);
});

test.run();
