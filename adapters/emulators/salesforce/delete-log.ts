// The delete log behind `/sobjects/{type}/deleted`: deleted records stay in the recycle bin for a
// retention period (15 days by default), then are emptied out for good. Emptying moves the
// earliest date the log still covers; a replication window starting before it fails, because
// deletions inside it may have been forgotten.
import type { ObjectDef } from './schema.ts';
import { OBJECTS } from './schema.ts';
import type { RecordStore } from './store.ts';

const MINUTE = 60_000;

/** Salesforce's replication dates have minute precision: the seconds are dropped. */
export const floorMinute = (ms: number): number => Math.floor(ms / MINUTE) * MINUTE;
const ceilMinute = (ms: number): number => Math.ceil(ms / MINUTE) * MINUTE;

export interface DeleteLogSnapshot {
  /** Object name → epoch ms before which deletions may have been forgotten. */
  readonly purgedUntil: Record<string, number>;
}

export class DeleteLog {
  private purgedUntil = new Map<string, number>();

  constructor(
    private retentionMs: number,
    private readonly store: RecordStore,
  ) {}

  setRetention(ms: number): void {
    this.retentionMs = ms;
  }

  /** `earliestDateAvailable`, after emptying what has outlived the retention. */
  earliestAvailable(object: ObjectDef, now = Date.now()): number {
    const cutoff = now - this.retentionMs;
    this.purge(object, cutoff);
    return Math.max(this.purgedUntil.get(object.name) ?? 0, ceilMinute(cutoff));
  }

  /** Empties the recycle bin of the records deleted at or before `before`; returns how many. */
  forget(before: number): number {
    return OBJECTS.reduce((n, object) => n + this.purge(object, before), 0);
  }

  /** The deleted records still in the log: id and time of deletion. */
  *deletions(object: ObjectDef): Generator<{ id: string; deletedAt: number; deletedDate: string }> {
    for (const record of this.store.records(object)) {
      if (record.fields.IsDeleted !== true) continue;
      const deletedDate = String(record.fields.SystemModstamp);
      yield { id: String(record.fields.Id), deletedAt: Date.parse(deletedDate), deletedDate };
    }
  }

  snapshot(): DeleteLogSnapshot {
    return { purgedUntil: Object.fromEntries(this.purgedUntil) };
  }

  load(snapshot: DeleteLogSnapshot | undefined): void {
    this.purgedUntil = new Map(Object.entries(snapshot?.purgedUntil ?? {}));
  }

  clear(): void {
    this.purgedUntil.clear();
  }

  private purge(object: ObjectDef, before: number): number {
    const gone = [...this.deletions(object)].filter((d) => d.deletedAt <= before);
    for (const { id } of gone) this.store.purge(object, id);
    const latest = Math.max(...gone.map((d) => d.deletedAt));
    if (gone.length > 0)
      this.purgedUntil.set(
        object.name,
        Math.max(this.purgedUntil.get(object.name) ?? 0, ceilMinute(latest + 1)),
      );
    return gone.length;
  }
}
