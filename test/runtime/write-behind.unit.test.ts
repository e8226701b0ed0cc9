// The write-behind's saves when they fail: a held message is acked only by a save that covers its
// step, whatever happened to the actor in memory meanwhile.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import type { JsMsg } from '@nats-io/jetstream';
import { UnavailableError } from '../../core/errors.ts';
import { KeyedQueue } from '../../core/keyed-queue.ts';
import { silentLogger } from '../../core/ports.ts';
import type { CustomerEvent, CustomerSnapshot, Decision } from '../../actors/customer/index.ts';
import { customerKind } from '../../actors/customer/kind.ts';
import { decodeActor } from '../../actors/customer/snapshot-codec.ts';
import { ActorCache } from '../../actors/runtime/actor-cache.ts';
import { applyEvent } from '../../actors/runtime/fact-step.ts';
import { parseMessage } from '../../actors/runtime/message.ts';
import { rebuild } from '../../actors/runtime/rebuild.ts';
import { WriteBehind } from '../../deploy/wiring/worker/write-behind.ts';
import { fact } from './facts.ts';
import { MemoryStore } from './memory-snapshot-store.ts';

const T0 = 1_700_000_000_000;
const kind = customerKind();
const encoder = new TextEncoder();

/** A delivered message of a fact, that records what was done with it. */
function delivered(id: string, version: number) {
  const done: string[] = [];
  const message = fact(id, version);
  message.metadata.occurred_at = new Date(T0 + version).toISOString();
  const m = {
    data: encoder.encode(JSON.stringify(message)),
    subject: `changes.customer.p00.${id}`,
    seq: version,
    info: { timestampNanos: (T0 + version) * 1e6 },
    headers: undefined,
    ack: () => void done.push('ack'),
    nak: () => void done.push('nak'),
    working: () => {},
  } as unknown as JsMsg;
  return { m, done };
}

function writeBehind(
  store: MemoryStore,
  cache: ActorCache<CustomerSnapshot>,
  holds: () => boolean,
) {
  return new WriteBehind<CustomerSnapshot, CustomerEvent, Decision>({
    store,
    cache,
    kind,
    mailboxes: new KeyedQueue(),
    log: silentLogger,
    holds,
    everySteps: 32,
    everyMs: 60_000,
    ackWaitMs: 30_000,
  });
}

/** An actor `steps` facts ahead of its snapshot, with their messages held. */
async function ahead(store: MemoryStore, steps: number) {
  const id = randomUUID();
  const cache = new ActorCache<CustomerSnapshot>({ maxActors: 10, idleMs: 60_000 });
  const wb = writeBehind(store, cache, () => true);
  const deps = { store, cache, holds: () => true, partition: 0, kind, saveEvery: wb.saveEvery };
  const messages = [];
  for (let v = 1; v <= steps; v++) {
    const d = delivered(id, v);
    const parsed = parseMessage(kind, d.m.data, id, T0 + v);
    assert.ok(parsed.ok);
    const step = await applyEvent(deps, id, parsed.event);
    assert.ok(step.unsaved, 'left unsaved');
    wb.hold(id, 0, d.m);
    messages.push(d);
  }
  return { id, cache, wb, deps, messages };
}

/** What was done with each message: `ack`, `nak`, or nothing yet (''). */
const dispositions = (messages: { done: string[] }[]) => messages.map((d) => d.done.join());

const storedVersion = (store: MemoryStore, id: string) =>
  decodeActor(id, store.entries.get(id)!.value).context.desired?.version;

test('a save acks every held message once their steps are stored', async () => {
  const store = new MemoryStore();
  const { id, wb, messages } = await ahead(store, 3);
  await wb.save(id, 0);
  assert.is(storedVersion(store, id), 3);
  assert.equal(dispositions(messages), ['ack', 'ack', 'ack']);
  assert.is(wb.held, 0);
});

test('a save that timed out yet landed is recognised as ours', async () => {
  const store = new MemoryStore();
  const { id, wb, messages } = await ahead(store, 2);
  const save = store.save.bind(store);
  let first = true;
  store.save = async (...args) => {
    const revision = await save(...args);
    if (!first) return revision;
    first = false;
    throw new UnavailableError('NATS', { cause: new Error('timeout') });
  };
  await wb.save(id, 0);
  assert.is(storedVersion(store, id), 2);
  assert.is(store.saves, 1, 'written once');
  assert.equal(dispositions(messages), ['ack', 'ack']);
});

test('a snapshot written under the held steps: they are decided again on it, in order', async () => {
  const store = new MemoryStore();
  const { id, cache, wb, messages } = await ahead(store, 3);
  // Someone saved the actor at version 1 meanwhile (as a previous holder of the partition would).
  const first = fact(id, 1);
  first.metadata.occurred_at = new Date(T0 + 1).toISOString();
  const atOne = rebuild(kind, id, [{ message: first, at: T0 + 1 }]);
  store.entries.set(id, { value: kind.encode(atOne), revision: 7 });
  await wb.save(id, 0);
  assert.is(storedVersion(store, id), 3, 'the held steps, decided again, are saved');
  assert.is(cache.peek(id)?.unsaved, 0);
  assert.equal(dispositions(messages), ['ack', 'ack', 'ack']);
});

test('an actor dropped from memory with messages held decides them again before its next step', async () => {
  const store = new MemoryStore();
  const { id, cache, wb, deps, messages } = await ahead(store, 2);
  cache.delete(id);
  await wb.ready(id);
  assert.is(cache.peek(id)?.snapshot.context.desired?.version, 2, 'held steps are in memory again');
  const next = delivered(id, 3);
  const parsed = parseMessage(kind, next.m.data, id, T0 + 3);
  assert.ok(parsed.ok);
  await applyEvent({ ...deps, saveEvery: 3 }, id, parsed.event);
  wb.saved(id);
  assert.is(storedVersion(store, id), 3);
  assert.equal(dispositions(messages), ['ack', 'ack']);
});

test('held messages that cannot be decided again while NATS is away stay held', async () => {
  const store = new MemoryStore();
  const { id, cache, wb, messages } = await ahead(store, 2);
  cache.delete(id);
  const load = store.load.bind(store);
  store.load = async () => {
    throw new UnavailableError('NATS');
  };
  const err = await wb.save(id, 0).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(err, UnavailableError);
  assert.is(wb.held, 2, 'still held, for a later save');
  assert.equal(dispositions(messages), ['', '']);
  store.load = load;
  await wb.save(id, 0);
  assert.is(storedVersion(store, id), 2);
  assert.equal(dispositions(messages), ['ack', 'ack']);
});

test('a save refused for a reason of its own naks the messages, and the actor saves step by step', async () => {
  const store = new MemoryStore();
  const { id, cache, wb, messages } = await ahead(store, 2);
  const save = store.save.bind(store);
  store.save = async () => {
    throw new Error('maximum payload exceeded');
  };
  await wb.save(id, 0);
  assert.equal(dispositions(messages), ['nak', 'nak']);
  assert.is(cache.peek(id), undefined, 'the unsaved steps are dropped');
  assert.is(wb.saveEvery(id), 1, 'its steps are now saved one by one');
  store.save = save;
  const again = await ahead(store, 1);
  assert.is(again.wb.saveEvery(again.id), 32, 'others keep the write-behind');
  wb.saved(id);
  assert.is(wb.saveEvery(id), 32, 'a save that succeeds restores it');
});

test('a partition no longer held: the steps are dropped and their messages left unacked', async () => {
  const store = new MemoryStore();
  const { id, cache, messages } = await ahead(store, 2);
  const wb = writeBehind(store, cache, () => false);
  for (const d of messages) wb.hold(id, 0, d.m);
  await wb.save(id, 0);
  assert.is(store.saves, 0);
  assert.equal(dispositions(messages), ['', '']);
  assert.is(cache.peek(id), undefined);
});

test.run();
