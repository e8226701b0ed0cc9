// The records of every sObject type, indexed by id and by each external-id or unique field, so
// that the hot path (an upsert by external id) costs a few map lookups. Writes inside
// `transaction()` are journalled and undone when the callback throws (allOrNone).
import { SalesforceApiError, entityIsDeleted, notFound } from './errors.ts';
import { canonicalId, makeId } from './ids.ts';
import { formatDatetime } from './datetime.ts';
import type { FieldDef, ObjectDef } from './schema.ts';
import { OBJECTS, findObject } from './schema.ts';
import type { FieldValue, FieldValues } from './values.ts';

/** A stored record: canonical field name → value, system fields included. */
export interface StoredRecord {
  readonly type: string;
  readonly fields: Record<string, FieldValue>;
}

/** One committed-to-be write, as Change Data Capture sees it. */
export interface RecordChange {
  readonly kind: 'CREATE' | 'UPDATE' | 'DELETE' | 'UNDELETE';
  readonly object: ObjectDef;
  readonly recordId: string;
  /** Every field after the write (a copy). */
  readonly fields: Readonly<Record<string, FieldValue>>;
  /** Every field before the write (a copy); for UPDATE only. */
  readonly previous?: Readonly<Record<string, FieldValue>>;
  readonly userId: string;
  /** The write's SystemModstamp, epoch milliseconds. */
  readonly at: number;
}

/**
 * Told of every write; returns how to forget it again, for a write that a transaction undoes
 * (allOrNone) before it commits.
 */
export interface ChangeSink {
  record(change: RecordChange): () => void;
}

/** What persistence saves and restores. */
export interface StoreSnapshot {
  readonly sequence: number;
  readonly records: readonly StoredRecord[];
}

type Index = Map<string, Set<string>>;

const indexedFields = new Map(
  OBJECTS.map((o) => [o.name, o.fields.filter((f) => f.externalId || f.unique)]),
);
const indexed = (o: ObjectDef): readonly FieldDef[] => indexedFields.get(o.name) ?? [];
const indexKey = (def: FieldDef, value: string): string =>
  def.caseSensitive ? value : value.toLowerCase();

export class RecordStore {
  private readonly byType = new Map<string, Map<string, StoredRecord>>();
  private readonly indexes = new Map<string, Index>();
  private journal: (() => void)[] | undefined;
  private sequence: number;
  private lastStamp = 0;

  /**
   * `integrationUserId` is the user behind every API session: the one a write is attributed to
   * unless it names another (a person's edit in Salesforce's own UI).
   */
  constructor(
    private readonly onChange: () => void,
    initialSequence: number,
    private readonly integrationUserId: string,
    private readonly sink?: ChangeSink,
  ) {
    this.sequence = initialSequence;
    this.clear(initialSequence);
  }

  clear(sequence: number): void {
    this.sequence = sequence;
    for (const o of OBJECTS) {
      this.byType.set(o.name, new Map());
      for (const f of indexed(o)) this.indexes.set(`${o.name}.${f.name}`, new Map());
    }
  }

  /** Runs `fn`; if it throws, every write it made is undone. */
  transaction<T>(fn: () => T): T {
    const outer = this.journal;
    const journal: (() => void)[] = [];
    this.journal = journal;
    try {
      return fn();
    } catch (err) {
      // Emptied here so that an enclosing transaction does not undo these writes a second time.
      for (const undo of journal.splice(0).reverse()) undo();
      throw err;
    } finally {
      this.journal = outer;
      if (outer) outer.push(...journal);
    }
  }

  records(object: ObjectDef): IterableIterator<StoredRecord> {
    return this.table(object).values();
  }

  /** A live or deleted record; throws NOT_FOUND for an unknown or malformed id. */
  find(object: ObjectDef, rawId: string): StoredRecord {
    const id = canonicalId(rawId);
    const record = id && id.startsWith(object.keyPrefix) ? this.table(object).get(id) : undefined;
    if (!record) throw notFound();
    return record;
  }

  /** A live record; throws NOT_FOUND or ENTITY_IS_DELETED. */
  live(object: ObjectDef, rawId: string): StoredRecord {
    const record = this.find(object, rawId);
    if (record.fields.IsDeleted === true) throw entityIsDeleted();
    return record;
  }

  findByExternalId(object: ObjectDef, def: FieldDef, value: string): StoredRecord[] {
    const ids = this.index(object, def).get(indexKey(def, value));
    return ids ? [...ids].map((id) => this.table(object).get(id)!).filter(Boolean) : [];
  }

  create(
    object: ObjectDef,
    values: FieldValues,
    by: string = this.integrationUserId,
  ): StoredRecord {
    this.checkReferences(object, values);
    this.checkUnique(object, values, undefined);
    const now = this.stamp();
    const id = makeId(object.keyPrefix, this.sequence++);
    const fields: Record<string, FieldValue> = {
      Id: id,
      IsDeleted: false,
      CreatedDate: now,
      CreatedById: by,
      LastModifiedDate: now,
      LastModifiedById: by,
      SystemModstamp: now,
    };
    for (const f of object.fields) if (f.createable) fields[f.name] = values.get(f.name) ?? null;
    const record: StoredRecord = { type: object.name, fields };
    this.table(object).set(id, record);
    this.addToIndexes(object, record);
    this.record(
      () => {
        this.removeFromIndexes(object, record);
        this.table(object).delete(id);
      },
      this.change('CREATE', object, record, by),
    );
    return record;
  }

  update(
    object: ObjectDef,
    rawId: string,
    values: FieldValues,
    by: string = this.integrationUserId,
  ): StoredRecord {
    const record = this.live(object, rawId);
    this.checkReferences(object, values);
    this.checkUnique(object, values, record.fields.Id as string);
    const before = { ...record.fields };
    this.removeFromIndexes(object, record);
    for (const [name, value] of values) record.fields[name] = value;
    this.touch(record, by);
    this.addToIndexes(object, record);
    this.record(
      () => this.restore(object, record, before),
      this.change('UPDATE', object, record, by, before),
    );
    return record;
  }

  /** Into the recycle bin: the deleting user and time show as the last change, as in Salesforce. */
  delete(object: ObjectDef, rawId: string, by: string = this.integrationUserId): StoredRecord {
    const record = this.live(object, rawId);
    const before = { ...record.fields };
    this.removeFromIndexes(object, record);
    record.fields.IsDeleted = true;
    this.touch(record, by);
    this.record(
      () => this.restore(object, record, before),
      this.change('DELETE', object, record, by),
    );
    return record;
  }

  /** Out of the recycle bin; fails as Salesforce does when its unique values are taken meanwhile. */
  undelete(object: ObjectDef, rawId: string, by: string = this.integrationUserId): StoredRecord {
    const record = this.find(object, rawId);
    if (record.fields.IsDeleted !== true)
      throw new SalesforceApiError(400, 'UNDELETE_FAILED', 'Entity is not in the recycle bin', []);
    const values: FieldValues = new Map(Object.entries(record.fields));
    this.checkUnique(object, values, record.fields.Id as string);
    const before = { ...record.fields };
    record.fields.IsDeleted = false;
    this.touch(record, by);
    this.addToIndexes(object, record);
    this.record(
      () => this.restore(object, record, before),
      this.change('UNDELETE', object, record, by),
    );
    return record;
  }

  /**
   * Empties a record out of the recycle bin for good: gone from `/queryAll` too. Salesforce
   * publishes no change event for this.
   */
  purge(object: ObjectDef, id: string): void {
    const record = this.table(object).get(id);
    if (!record || record.fields.IsDeleted !== true) return;
    this.table(object).delete(id);
    this.record(() => this.table(object).set(id, record));
  }

  snapshot(): StoreSnapshot {
    const records: StoredRecord[] = [];
    for (const table of this.byType.values()) records.push(...table.values());
    return { sequence: this.sequence, records };
  }

  load(snapshot: StoreSnapshot): void {
    this.clear(snapshot.sequence);
    for (const saved of snapshot.records) {
      const object = findObject(saved.type);
      if (!object || typeof saved.fields.Id !== 'string') continue;
      const record: StoredRecord = { type: object.name, fields: { ...saved.fields } };
      this.table(object).set(saved.fields.Id, record);
      if (record.fields.IsDeleted !== true) this.addToIndexes(object, record);
    }
  }

  private restore(
    object: ObjectDef,
    record: StoredRecord,
    before: Record<string, FieldValue>,
  ): void {
    if (record.fields.IsDeleted !== true) this.removeFromIndexes(object, record);
    for (const key of Object.keys(record.fields)) delete record.fields[key];
    Object.assign(record.fields, before);
    if (record.fields.IsDeleted !== true) this.addToIndexes(object, record);
  }

  private record(undo: () => void, change?: RecordChange): void {
    const forget = change && this.sink ? this.sink.record(change) : undefined;
    this.journal?.push(
      forget
        ? () => {
            forget();
            undo();
          }
        : undo,
    );
    this.onChange();
  }

  private change(
    kind: RecordChange['kind'],
    object: ObjectDef,
    record: StoredRecord,
    userId: string,
    previous?: Record<string, FieldValue>,
  ): RecordChange {
    return {
      kind,
      object,
      recordId: record.fields.Id as string,
      fields: { ...record.fields },
      ...(previous ? { previous } : {}),
      userId,
      at: Date.parse(String(record.fields.SystemModstamp)),
    };
  }

  private touch(record: StoredRecord, by: string): void {
    const now = this.stamp();
    record.fields.LastModifiedDate = now;
    record.fields.LastModifiedById = by;
    record.fields.SystemModstamp = now;
  }

  // Timestamps strictly increase, so ordering by SystemModstamp is a faithful change order.
  private stamp(): string {
    this.lastStamp = Math.max(Date.now(), this.lastStamp + 1);
    return formatDatetime(this.lastStamp);
  }

  private checkUnique(object: ObjectDef, values: FieldValues, selfId: string | undefined): void {
    for (const def of indexed(object)) {
      const value = values.get(def.name);
      if (!def.unique || typeof value !== 'string') continue;
      const other = [...(this.index(object, def).get(indexKey(def, value)) ?? [])].find(
        (id) => id !== selfId,
      );
      if (other) {
        throw new SalesforceApiError(
          400,
          'DUPLICATE_VALUE',
          `duplicate value found: ${def.name} duplicates value on record with id: ${other}`,
          [],
        );
      }
    }
  }

  private checkReferences(object: ObjectDef, values: FieldValues): void {
    for (const def of object.fields) {
      const value = values.get(def.name);
      if (def.type !== 'reference' || typeof value !== 'string') continue;
      const target = findObject(def.referenceTo ?? '');
      const id = canonicalId(value);
      if (!target || !id || !id.startsWith(target.keyPrefix)) {
        throw new SalesforceApiError(
          400,
          'FIELD_INTEGRITY_EXCEPTION',
          `${def.label}: id value of incorrect type: ${value}`,
          [def.name],
        );
      }
      const found = this.table(target).get(id);
      if (!found || found.fields.IsDeleted === true) {
        throw new SalesforceApiError(
          400,
          'INVALID_CROSS_REFERENCE_KEY',
          `invalid cross reference id`,
          [def.name],
        );
      }
      values.set(def.name, id);
    }
  }

  private addToIndexes(object: ObjectDef, record: StoredRecord): void {
    for (const def of indexed(object)) {
      const value = record.fields[def.name];
      if (typeof value !== 'string') continue;
      const index = this.index(object, def);
      const key = indexKey(def, value);
      let ids = index.get(key);
      if (!ids) index.set(key, (ids = new Set()));
      ids.add(record.fields.Id as string);
    }
  }

  private removeFromIndexes(object: ObjectDef, record: StoredRecord): void {
    for (const def of indexed(object)) {
      const value = record.fields[def.name];
      if (typeof value !== 'string') continue;
      const index = this.index(object, def);
      const key = indexKey(def, value);
      const ids = index.get(key);
      ids?.delete(record.fields.Id as string);
      if (ids?.size === 0) index.delete(key);
    }
  }

  private table(object: ObjectDef): Map<string, StoredRecord> {
    return this.byType.get(object.name)!;
  }

  private index(object: ObjectDef, def: FieldDef): Index {
    return this.indexes.get(`${object.name}.${def.name}`)!;
  }
}
