// sObject Collections: create, update, upsert, delete and retrieve up to 200 records per call.
// HTTP 200 even when items fail; 400 only when the request itself is malformed.
import { SalesforceApiError } from '../errors.ts';
import type { Reply } from '../http.ts';
import { isPlainObject } from '../http.ts';
import { canonicalId } from '../ids.ts';
import { renderRecord } from '../render.ts';
import type { ObjectDef } from '../schema.ts';
import { OBJECTS, findObject } from '../schema.ts';
import type { EmulatorState, RestRequest } from '../state.ts';
import { externalIdField, upsert } from '../upsert.ts';
import { readFields } from '../values.ts';
import type { ItemResult } from './batch.ts';
import { checkBatchSize, runBatch } from './batch.ts';
import type { Route } from './route.ts';
import { methodNotAllowed, notFoundRoute } from './route.ts';
import { bodyObject } from './sobjects.ts';

/** Routes `/composite/sobjects[/{type}[/{extField}]]`. */
export function collectionsRoute(req: RestRequest): Route {
  const [, , typeName, extField, ...extra] = req.segments;
  if (extra.length > 0) return notFoundRoute;
  if (typeName === undefined) {
    if (req.method === 'POST') return { name: 'collections.create', run: createMany };
    if (req.method === 'PATCH') return { name: 'collections.update', run: updateMany };
    if (req.method === 'DELETE') return { name: 'collections.delete', run: deleteMany };
    return methodNotAllowed(req.method, 'POST,PATCH,DELETE');
  }
  const object = findObject(typeName);
  if (!object) return notFoundRoute;
  if (extField !== undefined) {
    return req.method === 'PATCH'
      ? { name: 'collections.upsert', run: (r, s) => upsertMany(r, s, object, extField) }
      : methodNotAllowed(req.method, 'PATCH');
  }
  if (req.method === 'POST' || req.method === 'GET')
    return { name: 'collections.retrieve', run: (r, s) => retrieveMany(r, s, object) };
  return methodNotAllowed(req.method, 'GET,POST');
}

interface Batch {
  readonly allOrNone: boolean;
  readonly records: Record<string, unknown>[];
}

function readBatch(r: RestRequest): Batch {
  const body = bodyObject(r);
  const { records, allOrNone } = body;
  if (!Array.isArray(records) || !records.every(isPlainObject)) {
    throw new SalesforceApiError(
      400,
      'INVALID_FIELD',
      "The request body must carry a 'records' array of objects",
    );
  }
  checkBatchSize(records.length);
  return { allOrNone: allOrNone === true, records };
}

function itemType(record: Record<string, unknown>): ObjectDef {
  const attributes = record.attributes;
  const type =
    isPlainObject(attributes) && typeof attributes.type === 'string'
      ? findObject(attributes.type)
      : undefined;
  if (!type) throw new SalesforceApiError(400, 'INVALID_TYPE', 'Must send a concrete entity type.');
  return type;
}

function withoutKeys(
  record: Record<string, unknown>,
  keys: readonly string[],
): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(record).filter(([k]) => !keys.includes(k.toLowerCase())),
  );
}

function createMany(r: RestRequest, { store }: EmulatorState): Reply {
  const { allOrNone, records } = readBatch(r);
  const results = runBatch(
    store,
    records,
    allOrNone,
    (record) => {
      const object = itemType(record);
      const created = store.create(
        object,
        readFields(object, withoutKeys(record, ['attributes']), 'create'),
      );
      return { id: String(created.fields.Id), success: true, errors: [] };
    },
    () => undefined,
  );
  return { status: 200, body: results };
}

const recordId = (record: Record<string, unknown>): string | undefined =>
  typeof record.id === 'string' ? record.id : typeof record.Id === 'string' ? record.Id : undefined;

function updateMany(r: RestRequest, { store }: EmulatorState): Reply {
  const { allOrNone, records } = readBatch(r);
  const results = runBatch(
    store,
    records,
    allOrNone,
    (record) => {
      const object = itemType(record);
      const id = recordId(record);
      if (!id)
        throw new SalesforceApiError(
          400,
          'MISSING_ARGUMENT',
          'Id not specified in an update call',
          ['Id'],
        );
      const updated = store.update(
        object,
        id,
        readFields(object, withoutKeys(record, ['attributes', 'id']), 'update'),
      );
      return { id: String(updated.fields.Id), success: true, errors: [] };
    },
    (record) => recordId(record),
  );
  return { status: 200, body: results };
}

function upsertMany(
  r: RestRequest,
  { store }: EmulatorState,
  object: ObjectDef,
  fieldName: string,
): Reply {
  const def = externalIdField(object, fieldName);
  const { allOrNone, records } = readBatch(r);
  const valueOf = (record: Record<string, unknown>): string | undefined => {
    const entry = Object.entries(record).find(([k]) => k.toLowerCase() === def.name.toLowerCase());
    return typeof entry?.[1] === 'string' || typeof entry?.[1] === 'number'
      ? String(entry[1])
      : undefined;
  };
  const repeated = repeatedValues(records.map(valueOf), def.caseSensitive);
  const results = runBatch(
    store,
    records,
    allOrNone,
    (record): ItemResult => {
      const value = valueOf(record);
      if (value === undefined || value === '')
        throw new SalesforceApiError(400, 'MISSING_ARGUMENT', `${def.name} not specified`, [
          def.name,
        ]);
      if (repeated.has(def.caseSensitive ? value : value.toLowerCase())) {
        throw new SalesforceApiError(
          400,
          'DUPLICATE_EXTERNAL_ID',
          `Duplicate external id specified: ${value}`,
          [def.name],
        );
      }
      const outcome = upsert(store, object, def, value, withoutKeys(record, ['attributes']));
      return {
        id: String(outcome.record.fields.Id),
        success: true,
        errors: [],
        created: outcome.created,
      };
    },
    () => undefined,
  );
  return { status: 200, body: results };
}

function repeatedValues(
  values: readonly (string | undefined)[],
  caseSensitive: boolean,
): Set<string> {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const raw of values) {
    if (raw === undefined) continue;
    const value = caseSensitive ? raw : raw.toLowerCase();
    if (seen.has(value)) repeated.add(value);
    seen.add(value);
  }
  return repeated;
}

function deleteMany(r: RestRequest, { store }: EmulatorState): Reply {
  const ids = (r.query.get('ids') ?? '').split(',').filter((id) => id !== '');
  if (ids.length === 0)
    throw new SalesforceApiError(400, 'MISSING_ARGUMENT', "The 'ids' parameter is required");
  const allOrNone = r.query.get('allOrNone') === 'true';
  const results = runBatch(
    store,
    ids,
    allOrNone,
    (raw) => {
      const id = canonicalId(raw);
      if (!id) throw new SalesforceApiError(400, 'MALFORMED_ID', `malformed id ${raw}`);
      const object = OBJECTS.find((o) => id.startsWith(o.keyPrefix));
      if (!object)
        throw new SalesforceApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
      store.delete(object, id);
      return { id, success: true, errors: [] };
    },
    (raw) => canonicalId(raw) ?? raw,
  );
  return { status: 200, body: results };
}

function retrieveMany(r: RestRequest, { store }: EmulatorState, object: ObjectDef): Reply {
  const body =
    r.method === 'POST'
      ? bodyObject(r)
      : { ids: r.query.get('ids')?.split(','), fields: r.query.get('fields')?.split(',') };
  const ids = stringList(body.ids);
  const fields = stringList(body.fields);
  if (!ids || !fields || fields.length === 0) {
    throw new SalesforceApiError(400, 'MISSING_ARGUMENT', "Both 'ids' and 'fields' are required");
  }
  checkBatchSize(ids.length);
  const fieldList = fields.join(',');
  const records = ids.map((id) => {
    try {
      return renderRecord(object, store.live(object, id), r.version, fieldList);
    } catch (err) {
      if (err instanceof SalesforceApiError && err.status === 404) return null;
      throw err;
    }
  });
  return { status: 200, body: records };
}

function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((v): v is string => typeof v === 'string')
    ? value
    : undefined;
}
