// Single-record sObject endpoints: create, retrieve, update, delete, upsert by external id and
// retrieve by external id, plus the describe calls.
import { SalesforceApiError, notFound } from '../errors.ts';
import type { Reply } from '../http.ts';
import { isPlainObject } from '../http.ts';
import { describeGlobal, describeObject, objectInfo, recordUrl, renderRecord } from '../render.ts';
import type { ObjectDef } from '../schema.ts';
import { findObject } from '../schema.ts';
import type { RestRequest } from '../state.ts';
import type { RecordStore, StoredRecord } from '../store.ts';
import type { UpsertOutcome } from '../upsert.ts';
import { MultipleMatchesError, externalIdField, upsert } from '../upsert.ts';
import { readFields } from '../values.ts';
import type { Route } from './route.ts';
import { replicationRoute } from './replication.ts';
import { methodNotAllowed, notFoundRoute } from './route.ts';

/** Routes `/sobjects[/{type}[/{id}|/describe|/updated|/deleted|/{extField}/{value}]]`. */
export function sobjectRoute(req: RestRequest): Route {
  const [, typeName, second, third, ...extra] = req.segments;
  if (typeName === undefined) {
    return req.method === 'GET'
      ? { name: 'describeGlobal', run: (r) => ({ status: 200, body: describeGlobal(r.version) }) }
      : methodNotAllowed(req.method, 'GET,HEAD');
  }
  const object = findObject(typeName);
  if (!object || extra.length > 0) return notFoundRoute;
  if (second === undefined) return typeRoute(req, object);
  if (second === 'describe' && third === undefined) {
    return req.method === 'GET'
      ? { name: 'describe', run: (r) => ({ status: 200, body: describeObject(object, r.version) }) }
      : methodNotAllowed(req.method, 'GET,HEAD');
  }
  if ((second === 'updated' || second === 'deleted') && third === undefined)
    return replicationRoute(req, object, second);
  return third === undefined
    ? recordRoute(req, object, second)
    : externalRoute(req, object, second, third);
}

function typeRoute(req: RestRequest, object: ObjectDef): Route {
  if (req.method === 'GET')
    return {
      name: 'sobject.info',
      run: (r) => ({ status: 200, body: objectInfo(object, r.version) }),
    };
  if (req.method !== 'POST') return methodNotAllowed(req.method, 'GET,HEAD,POST');
  return {
    name: 'sobject.create',
    run: (r, { store }) => {
      const record = store.create(object, readFields(object, bodyObject(r), 'create'));
      return { status: 201, body: { id: record.fields.Id, success: true, errors: [] } };
    },
  };
}

function recordRoute(req: RestRequest, object: ObjectDef, id: string): Route {
  switch (req.method) {
    case 'GET':
      return {
        name: 'sobject.retrieve',
        run: (r, { store }) => ({
          status: 200,
          body: renderRecord(
            object,
            store.live(object, id),
            r.version,
            r.query.get('fields') ?? undefined,
          ),
        }),
      };
    case 'PATCH':
      return {
        name: 'sobject.update',
        run: (r, { store }) => {
          store.update(object, id, readFields(object, bodyObject(r), 'update'));
          return { status: 204 };
        },
      };
    case 'DELETE':
      return {
        name: 'sobject.delete',
        run: (_r, { store }) => {
          store.delete(object, id);
          return { status: 204 };
        },
      };
    default:
      return methodNotAllowed(req.method, 'GET,HEAD,PATCH,DELETE');
  }
}

function externalRoute(
  req: RestRequest,
  object: ObjectDef,
  fieldName: string,
  value: string,
): Route {
  switch (req.method) {
    case 'GET':
      return {
        name: 'sobject.retrieveByExternalId',
        run: (r, { store }) => {
          const record = single(r, store, object, fieldName, value);
          return 'status' in record
            ? record
            : {
                status: 200,
                body: renderRecord(object, record, r.version, r.query.get('fields') ?? undefined),
              };
        },
      };
    case 'PATCH':
      return {
        name: 'sobject.upsert',
        run: (r, { store }) =>
          upsertReply(r, () =>
            upsert(store, object, externalIdField(object, fieldName), value, bodyObject(r)),
          ),
      };
    case 'DELETE':
      return {
        name: 'sobject.deleteByExternalId',
        run: (r, { store }) => {
          const record = single(r, store, object, fieldName, value);
          if ('status' in record) return record;
          store.delete(object, record.fields.Id as string);
          return { status: 204 };
        },
      };
    default:
      return methodNotAllowed(req.method, 'GET,HEAD,PATCH,DELETE');
  }
}

function single(
  r: RestRequest,
  store: RecordStore,
  object: ObjectDef,
  fieldName: string,
  value: string,
): StoredRecord | Reply {
  const def = externalIdField(object, fieldName);
  const matches = store.findByExternalId(object, def, value);
  if (matches.length > 1) return multipleChoices(r, new MultipleMatchesError(def, value, matches));
  if (!matches[0]) throw notFound();
  return matches[0];
}

function upsertReply(r: RestRequest, run: () => UpsertOutcome): Reply {
  try {
    const { record, created } = run();
    const body = { id: record.fields.Id, success: true, errors: [], created };
    if (created)
      return {
        status: 201,
        body,
        headers: { Location: recordUrl(r.version, record.type, String(record.fields.Id)) },
      };
    // Before API v46.0 an update through upsert answered 204 without a body.
    return r.majorVersion >= 46 ? { status: 200, body } : { status: 204 };
  } catch (err) {
    if (err instanceof MultipleMatchesError) return multipleChoices(r, err);
    throw err;
  }
}

function multipleChoices(r: RestRequest, err: MultipleMatchesError): Reply {
  return {
    status: 300,
    body: err.matches.map((m) => recordUrl(r.version, m.type, String(m.fields.Id))),
  };
}

export function bodyObject(r: RestRequest): Record<string, unknown> {
  const body = r.json();
  if (!isPlainObject(body))
    throw new SalesforceApiError(
      400,
      'JSON_PARSER_ERROR',
      'The request body must be a JSON object',
    );
  return body;
}
