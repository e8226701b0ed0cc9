// An in-memory LeaseStore on a manual clock, for the lease keeper's unit tests. It expires
// entries as the KV bucket does: TTL after the last write it stored.
import { ConcurrencyError } from '../../core/errors.ts';
import type { Lease, LeaseStore } from '../../core/worker-ports.ts';

interface Entry {
  holder: string;
  revision: number;
  storedAt: number;
}

export class MemoryLeaseStore implements LeaseStore {
  readonly ttlMs: number;
  now = 0;
  /** When set, every call fails as an unreachable store would. */
  down = false;
  readonly #leases = new Map<number, Entry>();
  readonly #presence = new Map<string, number>();
  #seq = 0;

  constructor(ttlMs: number) {
    this.ttlMs = ttlMs;
  }

  /** The instant the store would let someone else take `partition`. */
  expiresAt(partition: number): number | undefined {
    const e = this.#leases.get(partition);
    return e && e.storedAt + this.ttlMs;
  }

  /** Hands a partition to someone else behind the holder's back, as a lapsed lease would. */
  steal(partition: number, holder: string): void {
    this.#leases.set(partition, { holder, revision: ++this.#seq, storedAt: this.now });
  }

  #check(): void {
    if (this.down) throw new Error('store unreachable');
  }

  #live(partition: number): Entry | undefined {
    const e = this.#leases.get(partition);
    if (e && e.storedAt + this.ttlMs <= this.now) this.#leases.delete(partition);
    return this.#leases.get(partition);
  }

  async heartbeat(workerId: string): Promise<void> {
    this.#check();
    this.#presence.set(workerId, this.now);
  }

  async leave(workerId: string): Promise<void> {
    this.#check();
    this.#presence.delete(workerId);
  }

  async liveWorkers(): Promise<string[]> {
    this.#check();
    return [...this.#presence].filter(([, at]) => at + this.ttlMs > this.now).map(([id]) => id);
  }

  async holders(partitions: number): Promise<Map<number, Lease>> {
    this.#check();
    const out = new Map<number, Lease>();
    for (let p = 0; p < partitions; p++) {
      const e = this.#live(p);
      if (e) out.set(p, { holder: e.holder, revision: e.revision });
    }
    return out;
  }

  async claim(partition: number, workerId: string): Promise<number | undefined> {
    this.#check();
    if (this.#live(partition)) return undefined;
    const revision = ++this.#seq;
    this.#leases.set(partition, { holder: workerId, revision, storedAt: this.now });
    return revision;
  }

  async renew(partition: number, workerId: string, revision: number): Promise<number> {
    this.#check();
    const e = this.#live(partition);
    if (!e || e.revision !== revision) throw new ConcurrencyError(`lease ${partition} changed`);
    const next = ++this.#seq;
    this.#leases.set(partition, { holder: workerId, revision: next, storedAt: this.now });
    return next;
  }

  async release(partition: number, revision: number): Promise<void> {
    this.#check();
    if (this.#live(partition)?.revision === revision) this.#leases.delete(partition);
  }
}
