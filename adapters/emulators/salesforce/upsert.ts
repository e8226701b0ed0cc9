// Upsert by external id, shared by the single-record route and sObject Collections.
import { SalesforceApiError } from './errors.ts';
import type { FieldDef, ObjectDef } from './schema.ts';
import { findField } from './schema.ts';
import type { RecordStore, StoredRecord } from './store.ts';
import { readFields } from './values.ts';

/** Several live records carry the external id: the single route answers 300, collections fail the item. */
export class MultipleMatchesError extends SalesforceApiError {
  readonly matches: readonly StoredRecord[];

  constructor(def: FieldDef, value: string, matches: readonly StoredRecord[]) {
    super(
      300,
      'DUPLICATE_EXTERNAL_ID',
      `${def.name}: more than one record found for external id field: [${matches.map((m) => String(m.fields.Id)).join(', ')}]`,
      [def.name],
    );
    this.name = 'MultipleMatchesError';
    this.matches = matches;
  }
}

/** The external-id field named in an upsert URL; 404 NOT_FOUND when it is not one. */
export function externalIdField(object: ObjectDef, name: string): FieldDef {
  const def = findField(object, name);
  if (!def?.externalId) {
    throw new SalesforceApiError(
      404,
      'NOT_FOUND',
      `Provided external ID field does not exist or is not accessible: ${name}`,
    );
  }
  return def;
}

export interface UpsertOutcome {
  readonly record: StoredRecord;
  readonly created: boolean;
}

export function upsert(
  store: RecordStore,
  object: ObjectDef,
  def: FieldDef,
  value: string,
  body: Record<string, unknown>,
): UpsertOutcome {
  const matches = store.findByExternalId(object, def, value);
  if (matches.length > 1) throw new MultipleMatchesError(def, value, matches);
  // The URL carries the external id; a copy in the body is superseded by it.
  const rest = Object.fromEntries(
    Object.entries(body).filter(([key]) => key.toLowerCase() !== def.name.toLowerCase()),
  );
  const existing = matches[0];
  if (existing) {
    return {
      record: store.update(
        object,
        existing.fields.Id as string,
        readFields(object, rest, 'update'),
      ),
      created: false,
    };
  }
  const values = readFields(object, { ...rest, [def.name]: value }, 'create');
  return { record: store.create(object, values), created: true };
}
