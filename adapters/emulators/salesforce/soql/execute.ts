// Runs a parsed query against the store and projects the rows the REST API returns.
import { SalesforceApiError } from '../errors.ts';
import type { FieldDef, ObjectDef } from '../schema.ts';
import { findObject } from '../schema.ts';
import type { RecordStore, StoredRecord } from '../store.ts';
import type { FieldValue } from '../values.ts';
import type { OrderBy, SoqlQuery } from './ast.ts';
import { compileCondition, resolveField } from './match.ts';

/** One projected row, as sent: `attributes` first, then the selected fields in order. */
export type QueryRow = Record<string, unknown>;

export interface QueryResult {
  readonly totalSize: number;
  /** Empty for `COUNT()`. */
  readonly rows: QueryRow[];
}

export interface QueryContext {
  readonly store: RecordStore;
  /** `vNN.N`, used in the record URLs. */
  readonly version: string;
  /** `/queryAll`: deleted records are included. */
  readonly includeDeleted: boolean;
}

export function executeQuery(query: SoqlQuery, ctx: QueryContext): QueryResult {
  const object = findObject(query.object);
  if (!object) {
    throw new SalesforceApiError(
      400,
      'INVALID_TYPE',
      `sObject type '${query.object}' is not supported.`,
    );
  }
  const fields = query.fields === 'count' ? [] : selectedFields(object, query.fields);
  const predicate = query.where ? compileCondition(object, query.where) : () => true;
  const sorter = compileOrder(object, query.orderBy);
  let matched: StoredRecord[] = [];
  for (const record of ctx.store.records(object)) {
    if (!ctx.includeDeleted && record.fields.IsDeleted === true) continue;
    if (predicate(record.fields)) matched.push(record);
  }
  if (sorter) matched.sort(sorter);
  const offset = query.offset ?? 0;
  matched = matched.slice(offset, query.limit === undefined ? undefined : offset + query.limit);
  if (query.fields === 'count') return { totalSize: matched.length, rows: [] };
  return {
    totalSize: matched.length,
    rows: matched.map((r) => project(object, r, fields, ctx.version)),
  };
}

function selectedFields(object: ObjectDef, names: readonly string[]): FieldDef[] {
  const seen = new Set<string>();
  return names.map((name) => {
    const def = resolveField(object, name);
    if (seen.has(def.name))
      throw new SalesforceApiError(400, 'MALFORMED_QUERY', `duplicate field selected: ${def.name}`);
    seen.add(def.name);
    return def;
  });
}

/** The record's REST rendering with the given fields. */
export function project(
  object: ObjectDef,
  record: StoredRecord,
  fields: readonly FieldDef[],
  version: string,
): QueryRow {
  const id = record.fields.Id as string;
  const row: QueryRow = {
    attributes: {
      type: object.name,
      url: `/services/data/${version}/sobjects/${object.name}/${id}`,
    },
  };
  for (const def of fields) row[def.name] = record.fields[def.name] ?? null;
  return row;
}

type Sorter = (a: StoredRecord, b: StoredRecord) => number;

function compileOrder(object: ObjectDef, orderBy: readonly OrderBy[]): Sorter | undefined {
  if (orderBy.length === 0) return undefined;
  const keys = orderBy.map((o) => ({ ...o, def: resolveField(object, o.field) }));
  return (a, b) => {
    for (const key of keys) {
      const diff = compareValues(
        a.fields[key.def.name] ?? null,
        b.fields[key.def.name] ?? null,
        key.nullsLast,
        key.descending,
      );
      if (diff !== 0) return diff;
    }
    return 0;
  };
}

function compareValues(
  a: FieldValue,
  b: FieldValue,
  nullsLast: boolean,
  descending: boolean,
): number {
  if (a === b) return 0;
  // Null placement is absolute: NULLS LAST keeps nulls last whatever the direction.
  if (a === null) return nullsLast ? 1 : -1;
  if (b === null) return nullsLast ? -1 : 1;
  const left = typeof a === 'string' ? a.toLowerCase() : Number(a);
  const right = typeof b === 'string' ? b.toLowerCase() : Number(b);
  const diff = left < right ? -1 : left > right ? 1 : 0;
  return descending ? -diff : diff;
}
