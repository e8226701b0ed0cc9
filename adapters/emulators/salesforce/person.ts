// Records created, edited, deleted and undeleted by a person in Salesforce's own UI rather than
// through the API: the same validation and the same system fields, but under another user's id,
// so that a reader can tell them from the integration user's writes. They cost no API call.
import { SalesforceApiError, notFound } from './errors.ts';
import { canonicalId } from './ids.ts';
import type { ObjectDef } from './schema.ts';
import { USER_KEY_PREFIX, findObject } from './schema.ts';
import { project } from './soql/execute.ts';
import type { RecordStore, StoredRecord } from './store.ts';
import { MultipleMatchesError, externalIdField } from './upsert.ts';
import { readFields } from './values.ts';

/** A record by its Salesforce id, or by the value of one of its external-id fields. */
export type RecordRef = string | { readonly field: string; readonly value: string };

export interface PersonOptions {
  /** The user the change is made as (`005…`); default the emulator's `personUserId`. */
  readonly userId?: string;
}

/** Creates a record and returns it with every field. */
export function createAsPerson(
  store: RecordStore,
  type: string,
  fields: Record<string, unknown>,
  userId: string,
): Record<string, unknown> {
  const object = objectOf(type);
  const by = userIdOf(userId);
  return render(object, store.create(object, readFields(object, fields, 'create'), by));
}

/** Updates the given fields and returns the record with every field. */
export function editAsPerson(
  store: RecordStore,
  type: string,
  ref: RecordRef,
  fields: Record<string, unknown>,
  userId: string,
): Record<string, unknown> {
  const object = objectOf(type);
  const by = userIdOf(userId);
  const record = liveRecord(store, object, ref);
  const values = readFields(object, fields, 'update');
  return render(object, store.update(object, String(record.fields.Id), values, by));
}

/** Moves the record to the recycle bin and returns it as it is there. */
export function deleteAsPerson(
  store: RecordStore,
  type: string,
  ref: RecordRef,
  userId: string,
): Record<string, unknown> {
  const object = objectOf(type);
  const by = userIdOf(userId);
  const record = liveRecord(store, object, ref);
  return render(object, store.delete(object, String(record.fields.Id), by));
}

/** Restores a record from the recycle bin and returns it. Only by id: the bin has no external-id index. */
export function undeleteAsPerson(
  store: RecordStore,
  type: string,
  ref: RecordRef,
  userId: string,
): Record<string, unknown> {
  const object = objectOf(type);
  const by = userIdOf(userId);
  if (typeof ref !== 'string')
    throw new SalesforceApiError(400, 'INVALID_REQUEST', 'an undelete names the record by its id');
  return render(object, store.undelete(object, ref, by));
}

function objectOf(type: string): ObjectDef {
  const object = findObject(type);
  if (!object) throw new SalesforceApiError(404, 'NOT_FOUND', `unknown sObject type ${type}`);
  return object;
}

function userIdOf(raw: string): string {
  const id = canonicalId(raw);
  if (!id?.startsWith(USER_KEY_PREFIX))
    throw new SalesforceApiError(400, 'INVALID_REQUEST', `userId must be a user id (005…)`);
  return id;
}

function liveRecord(store: RecordStore, object: ObjectDef, ref: RecordRef): StoredRecord {
  if (typeof ref === 'string') return store.live(object, ref);
  const def = externalIdField(object, ref.field);
  const matches = store.findByExternalId(object, def, ref.value);
  if (matches.length > 1) throw new MultipleMatchesError(def, ref.value, matches);
  if (!matches[0]) throw notFound();
  return matches[0];
}

const render = (object: ObjectDef, record: StoredRecord): Record<string, unknown> =>
  project(object, record, object.fields, 'v62.0');
