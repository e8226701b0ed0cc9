// Live actors in memory, bounded by count and idle time. An actor may be ahead of its snapshot in
// KV (write-behind: `unsaved` steps, whose messages are not acked yet); eviction by count or
// idleness passes such an actor by until it is saved (so the count may briefly exceed its bound),
// and loses nothing: an evicted actor is loaded again from its snapshot when it next gets a
// message. Memory thus follows the customers that are active.

export interface CachedActor<S> {
  readonly snapshot: S;
  /** The KV revision of the last save; `undefined` for an actor never saved yet. */
  readonly revision: number | undefined;
  /** Steps taken since that save (0: the snapshot is what KV holds). */
  readonly unsaved: number;
  /** When the first of those steps was taken (ms); 0 when there are none. */
  readonly unsavedSince: number;
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

  /** The actor as held, without counting as a use. */
  peek(id: string): CachedActor<S> | undefined {
    return this.#entries.get(id);
  }

  /** The actor as just saved at `revision`. */
  set(id: string, snapshot: S, revision: number): void {
    this.#put(id, { snapshot, revision, unsaved: 0, unsavedSince: 0, lastUsed: this.#now() });
  }

  /** The actor one step ahead of its last save (at `revision`, if ever). */
  step(id: string, snapshot: S, revision: number | undefined): CachedActor<S> {
    const now = this.#now();
    const before = this.#entries.get(id);
    const unsaved = (before?.unsaved ?? 0) + 1;
    const unsavedSince = before && before.unsaved > 0 ? before.unsavedSince : now;
    const entry = { snapshot, revision, unsaved, unsavedSince, lastUsed: now };
    this.#put(id, entry);
    return entry;
  }

  delete(id: string): void {
    this.#entries.delete(id);
  }

  /** Passivates saved actors idle for longer than the idle time; returns how many went. */
  evictIdle(): number {
    const horizon = this.#now() - this.#idleMs;
    let evicted = 0;
    for (const [id, entry] of this.#entries) {
      if (entry.lastUsed > horizon) break;
      if (entry.unsaved > 0) continue;
      this.#entries.delete(id);
      evicted++;
    }
    return evicted;
  }

  /**
   * Drops every actor `which` selects, saved or not, e.g. those of a partition this worker no
   * longer holds (the messages of unsaved steps were not acked: the next holder gets them again).
   */
  evictWhere(which: (id: string, snapshot: S) => boolean): string[] {
    const gone: string[] = [];
    for (const [id, entry] of [...this.#entries]) {
      if (!which(id, entry.snapshot)) continue;
      this.#entries.delete(id);
      gone.push(id);
    }
    return gone;
  }

  get size(): number {
    return this.#entries.size;
  }

  #put(id: string, entry: Entry<S>): void {
    this.#entries.delete(id);
    this.#entries.set(id, entry);
    if (this.#entries.size <= this.#maxActors) return;
    for (const [oldest, e] of this.#entries) {
      if (this.#entries.size <= this.#maxActors) break;
      if (e.unsaved === 0) this.#entries.delete(oldest);
    }
  }
}
