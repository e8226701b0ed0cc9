// Live actors in memory, bounded by count and idle time. An evicted actor loses nothing: its
// snapshot is saved before its message is acked, so it is simply loaded again when it next gets
// one. Memory thus follows the customers that are active, not all of them.

export interface CachedActor<S> {
  readonly snapshot: S;
  readonly revision: number;
}

interface Entry<S> extends CachedActor<S> {
  lastUsed: number;
}

export class ActorCache<S> {
  // A Map iterates in insertion order; re-inserting on use keeps the least recently used first.
  readonly #entries = new Map<string, Entry<S>>();
  readonly #maxActors: number;
  readonly #idleMs: number;
  readonly #now: () => number;

  constructor(options: { maxActors: number; idleMs: number; now?: () => number }) {
    this.#maxActors = options.maxActors;
    this.#idleMs = options.idleMs;
    this.#now = options.now ?? Date.now;
  }

  get(id: string): CachedActor<S> | undefined {
    const entry = this.#entries.get(id);
    if (!entry) return undefined;
    entry.lastUsed = this.#now();
    this.#entries.delete(id);
    this.#entries.set(id, entry);
    return entry;
  }

  set(id: string, snapshot: S, revision: number): void {
    this.#entries.delete(id);
    this.#entries.set(id, { snapshot, revision, lastUsed: this.#now() });
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.#maxActors) break;
      this.#entries.delete(oldest);
    }
  }

  delete(id: string): void {
    this.#entries.delete(id);
  }

  /** Passivates actors idle for longer than the idle time; returns how many went. */
  evictIdle(): number {
    const horizon = this.#now() - this.#idleMs;
    let evicted = 0;
    for (const [id, entry] of this.#entries) {
      if (entry.lastUsed > horizon) break;
      this.#entries.delete(id);
      evicted++;
    }
    return evicted;
  }

  /** Drops every actor `which` selects, e.g. those of a partition this worker no longer holds. */
  evictWhere(which: (id: string, snapshot: S) => boolean): void {
    for (const [id, entry] of [...this.#entries])
      if (which(id, entry.snapshot)) this.#entries.delete(id);
  }

  get size(): number {
    return this.#entries.size;
  }
}
