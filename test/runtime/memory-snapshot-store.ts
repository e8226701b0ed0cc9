// An in-memory SnapshotStore with the KV store's revision CAS, for the runtime's unit tests.
import { ConcurrencyError } from '../../core/errors.ts';
import { snapshotText, type SnapshotStore, type StoredSnapshot } from '../../core/worker-ports.ts';

export class MemoryStore implements SnapshotStore {
  readonly entries = new Map<string, StoredSnapshot>();
  saves = 0;
  #rev = 0;
  /** Writes someone else makes just before our next save lands. */
  interleave: (() => void)[] = [];

  async load(id: string) {
    return this.entries.get(id);
  }

  async *keys() {
    yield* this.entries.keys();
  }

  async save(id: string, value: unknown, expected: number | undefined) {
    this.interleave.shift()?.();
    if (this.entries.get(id)?.revision !== expected) throw new ConcurrencyError('changed');
    this.saves++;
    const revision = ++this.#rev;
    this.entries.set(id, { value: JSON.parse(snapshotText(value)), revision });
    return revision;
  }
}
