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
  cache.evictWhere((id) => id.startsWith('p1-'));
  assert.is(cache.size, 1);
  assert.is(cache.get('p2-a')?.revision, 1);
});

test.run();
