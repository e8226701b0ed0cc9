// Turns a JSON request body into checked field values, failing the way Salesforce does: unknown
// columns, read-only fields, missing required fields, over-long strings and bad emails.
import { SalesforceApiError, invalidField } from './errors.ts';
import type { FieldDef, ObjectDef } from './schema.ts';
import { findField } from './schema.ts';

export type FieldValue = string | boolean | null;

/** Canonical field name → value. */
export type FieldValues = Map<string, FieldValue>;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export type WriteMode = 'create' | 'update';

/** Reads a record body. Keys such as `attributes` that carry no field are skipped by the caller. */
export function readFields(
  object: ObjectDef,
  body: Record<string, unknown>,
  mode: WriteMode,
): FieldValues {
  const values: FieldValues = new Map();
  const readOnly: string[] = [];
  for (const [key, raw] of Object.entries(body)) {
    if (key === 'attributes') continue;
    const def = findField(object, key);
    if (!def) throw invalidField(`No such column '${key}' on sobject of type ${object.name}`);
    if (!(mode === 'create' ? def.createable : def.updateable)) {
      readOnly.push(def.name);
      continue;
    }
    values.set(def.name, readValue(def, raw));
  }
  if (readOnly.length > 0) {
    throw new SalesforceApiError(
      400,
      'INVALID_FIELD_FOR_INSERT_UPDATE',
      `Unable to create/update fields: ${readOnly.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
      readOnly,
    );
  }
  checkRequired(object, values, mode);
  return values;
}

function checkRequired(object: ObjectDef, values: FieldValues, mode: WriteMode): void {
  const missing = object.fields
    .filter(
      (f) =>
        f.required &&
        (mode === 'create'
          ? (values.get(f.name) ?? null) === null
          : values.has(f.name) && values.get(f.name) === null),
    )
    .map((f) => f.name);
  if (missing.length > 0) {
    throw new SalesforceApiError(
      400,
      'REQUIRED_FIELD_MISSING',
      `Required fields are missing: [${missing.join(', ')}]`,
      missing,
    );
  }
}

function readValue(def: FieldDef, raw: unknown): FieldValue {
  if (raw === null || raw === undefined) return null;
  if (typeof raw === 'object') {
    throw new SalesforceApiError(
      400,
      'JSON_PARSER_ERROR',
      `Cannot deserialize instance of ${def.type} from ${Array.isArray(raw) ? 'START_ARRAY' : 'START_OBJECT'} value for field ${def.name}`,
    );
  }
  if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
    throw new SalesforceApiError(
      400,
      'JSON_PARSER_ERROR',
      `Unexpected value for field ${def.name}`,
    );
  }
  // Salesforce stores an empty string as null.
  const text = String(raw);
  if (text === '') return null;
  if (text.length > def.length) {
    throw new SalesforceApiError(
      400,
      'STRING_TOO_LONG',
      `${def.label}: data value too large: ${text.slice(0, 40)} (max length=${def.length})`,
      [def.name],
    );
  }
  if (def.type === 'email' && !EMAIL.test(text)) {
    throw new SalesforceApiError(
      400,
      'INVALID_EMAIL_ADDRESS',
      `${def.label}: invalid email address: ${text}`,
      [def.name],
    );
  }
  return text;
}
