import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ActorCache } from '../../actors/runtime/actor-cache.ts';

test('the cache is bounded by count, evicting the least recently used', () => {
  let now = 0;
  const cache = new ActorCache<string>({ maxActors: 2, idleMs: 1_000, now: () => now });
  cache.set('a', 'A', 1);
  cache.set('b', 'B', 1);
  now = 1;
  cache.get('a');
  cache.set('c', 'C', 1);
  assert.is(cache.size, 2);
  assert.ok(cache.get('a'), 'recently used stays');
  assert.is(cache.get('b'), undefined, 'least recently used goes');
});

test('idle actors are passivated; active ones stay', () => {
  let now = 0;
  const cache = new ActorCache<string>({ maxActors: 10, idleMs: 1_000, now: () => now });
  cache.set('idle', 'I', 1);
  now = 900;
  cache.set('busy', 'B', 1);
  now = 1_500;
  assert.is(cache.evictIdle(), 1);
  assert.is(cache.get('idle'), undefined);
  assert.is(cache.get('busy')?.snapshot, 'B');
});

test('a partition that is given up takes its actors with it', () => {
  const cache = new ActorCache<string>({ maxActors: 10, idleMs: 1_000 });
  for (const id of ['p1-a', 'p1-b', 'p2-a']) cache.set(id, id, 1);
  assert.equal(
    cache.evictWhere((id) => id.startsWith('p1-')),
    ['p1-a', 'p1-b'],
  );
  assert.is(cache.size, 1);
  assert.is(cache.get('p2-a')?.revision, 1);
});

test('an actor ahead of its snapshot is never evicted, by count or by idleness', () => {
  let now = 0;
  const cache = new ActorCache<string>({ maxActors: 2, idleMs: 1_000, now: () => now });
  cache.step('unsaved', 'U', undefined);
  cache.set('saved', 'S', 1);
  cache.set('newest', 'N', 1);
  assert.is(cache.peek('unsaved')?.snapshot, 'U', 'the least recently used, but unsaved: kept');
  assert.is(cache.peek('saved'), undefined, 'the least recently used saved one goes');
  now = 5_000;
  assert.is(cache.evictIdle(), 1, 'the saved one is passivated');
  assert.is(cache.peek('unsaved')?.unsaved, 1);
  assert.is(cache.size, 1, 'only the unsaved one is left');
  cache.set('unsaved', 'U', 2);
  assert.is(cache.evictIdle(), 0, 'saved just now');
  now = 10_000;
  assert.is(cache.evictIdle(), 1, 'once saved, it goes like any other');
});

test('steps ahead count from the first one after the last save', () => {
  let now = 10;
  const cache = new ActorCache<string>({ maxActors: 10, idleMs: 1_000, now: () => now });
  cache.set('a', 'A0', 1);
  cache.step('a', 'A1', 1);
  now = 20;
  const second = cache.step('a', 'A2', 1);
  assert.equal([second.unsaved, second.unsavedSince, second.revision], [2, 10, 1]);
});

test.run();
