// The field map as an operator writes it (SALESFORCE_FIELD_MAP): a JSON file naming the sObject
// and, for each of its fields, the canonical value it holds and which way it flows:
//
//   { "object": "Contact",
//     "fields": { "LastName": "name.last",
//                 "Email": { "canonical": "email", "direction": "both" } } }
//
// A bare string is `{ "canonical": …, "direction": "both" }`. Checked here for its shape and for
// what makes a map ambiguous; whether the object has these fields is checked against Salesforce's
// describe at start (describe-check.ts).
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { RESERVED_METADATA_KEYS } from '../../core/customer.ts';
import {
  DIRECTIONS,
  FIXED_SOURCES,
  mappedFields,
  type FieldMap,
  type FieldSource,
  type MappedField,
} from './mapper.ts';

const API_NAME = '^[A-Za-z][A-Za-z0-9_]*$';
/** Stripe's metadata key rules, which the catalogue's keys follow: 1–40 characters, no brackets. */
const METADATA_SOURCE = '^metadata\\.[^\\[\\]]{1,40}$';

const Source = Type.Union(
  [...FIXED_SOURCES.map((s) => Type.Literal(s)), Type.String({ pattern: METADATA_SOURCE })],
  { description: `one of ${FIXED_SOURCES.join(', ')} or metadata.<key>` },
);

const DirectionSchema = Type.Union(
  DIRECTIONS.map((d) => Type.Literal(d)),
  { description: `one of ${DIRECTIONS.join(', ')}` },
);

const Entry = Type.Object(
  { canonical: Source, direction: Type.Optional(DirectionSchema) },
  { additionalProperties: false },
);

/** The file, once each bare string is written out as `{ "canonical": … }`. */
export const FieldMapFileSchema = Type.Object(
  {
    object: Type.String({ pattern: API_NAME, description: 'an sObject API name' }),
    fields: Type.Record(Type.String({ pattern: API_NAME }), Entry, {
      additionalProperties: false,
      minProperties: 1,
      description: 'an object of at least one entry',
    }),
  },
  { additionalProperties: false },
);
export type FieldMapFile = Static<typeof FieldMapFileSchema>;

/** A map that cannot be used; `entry` is the Salesforce field at fault, when one is. */
export class FieldMapError extends Error {
  readonly code = 'SALESFORCE_FIELD_MAP_INVALID';
  constructor(
    readonly entry: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(entry === undefined ? message : `field "${entry}": ${message}`, options);
    this.name = 'FieldMapError';
  }
}

export interface FieldMapTarget {
  /** The configured sObject: the file must name it. */
  readonly object: string;
  /** Holds our customer id: no entry may map it. */
  readonly externalIdField: string;
}

/** The map a file's text describes, checked; throws `FieldMapError` naming the entry at fault. */
export function parseFieldMap(text: string, target: FieldMapTarget): FieldMap {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new FieldMapError(undefined, `not JSON: ${(err as Error).message}`, { cause: err });
  }
  const file = withLongForms(json);
  const error = Value.Errors(FieldMapFileSchema, file).First();
  if (error) throw schemaError(error.path, error.message, error.schema.description);
  if (!Value.Check(FieldMapFileSchema, file)) throw new FieldMapError(undefined, 'not a field map');
  if (file.object.toLowerCase() !== target.object.toLowerCase())
    throw new FieldMapError(
      undefined,
      `"object" is ${file.object}, but the configured object (SALESFORCE_OBJECT) is ${target.object}`,
    );
  const map: FieldMap = Object.fromEntries(
    Object.entries(file.fields).map(([field, e]) => [
      field,
      // The schema's pattern makes it a source; its static type is only a string.
      { canonical: e.canonical as FieldSource, direction: e.direction ?? 'both' },
    ]),
  );
  checkFieldMap(map, target.externalIdField);
  return Object.freeze(map);
}

/** Bare strings under `fields` written out as `{ "canonical": … }`; anything else as it is. */
function withLongForms(json: unknown): unknown {
  if (!isObject(json) || !isObject(json.fields)) return json;
  const fields = Object.fromEntries(
    Object.entries(json.fields).map(([k, v]) => [k, typeof v === 'string' ? { canonical: v } : v]),
  );
  return { ...json, fields };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A schema error, said in the file's terms: which entry, which key, what was expected. */
function schemaError(path: string, message: string, expected: string | undefined): FieldMapError {
  const [top, entry, key] = path
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const unexpected = message === 'Unexpected property';
  const what =
    message === 'Expected required property'
      ? 'is missing'
      : expected
        ? `must be ${expected}`
        : message.toLowerCase();
  if (top === undefined)
    return new FieldMapError(undefined, 'the file must hold a JSON object: { "object", "fields" }');
  if (top !== 'fields' || entry === undefined) {
    if (unexpected)
      return new FieldMapError(undefined, `unknown key "${top}": a map has "object" and "fields"`);
    return new FieldMapError(undefined, `"${top}" ${what}`);
  }
  if (key !== undefined)
    return new FieldMapError(
      entry,
      unexpected
        ? `unknown key "${key}": an entry has "canonical" and "direction"`
        : `"${key}" ${what}`,
    );
  if (unexpected)
    return new FieldMapError(
      entry,
      'not a Salesforce API name (a letter, then letters, digits and underscores)',
    );
  return new FieldMapError(entry, 'must be a canonical value, or { "canonical", "direction" }');
}

const reserved = new Set<string>(RESERVED_METADATA_KEYS.map((k) => `metadata.${k}`));

/**
 * What makes a map ambiguous or lossy, whatever the object: a field named twice, a value held by
 * two fields (which one would a read believe?), a name split without both halves or mixed with
 * the whole name, parts of one synced field flowing different ways, rtws's own metadata key, or
 * the external-id field, which holds our customer id.
 */
export function checkFieldMap(map: FieldMap, externalIdField: string): void {
  const mapped = mappedFields(map);
  const byName = new Map<string, string>();
  const bySource = new Map<string, MappedField>();
  for (const m of mapped) {
    const lower = m.field.toLowerCase();
    const same = byName.get(lower);
    if (same !== undefined) throw new FieldMapError(m.field, `the same field as "${same}"`);
    byName.set(lower, m.field);
    if (lower === externalIdField.toLowerCase())
      throw new FieldMapError(
        m.field,
        'is the external-id field (SALESFORCE_EXTERNAL_ID_FIELD), which holds our customer id',
      );
    if (reserved.has(m.canonical))
      throw new FieldMapError(m.field, `${m.canonical} is rtws's own and never synced`);
    const other = bySource.get(m.canonical);
    if (other)
      throw new FieldMapError(m.field, `${m.canonical} is already held by "${other.field}"`);
    bySource.set(m.canonical, m);
  }
  checkName(bySource);
  sameDirection(
    mapped.filter((m) => m.canonical.startsWith('address.')),
    'address',
  );
}

function checkName(bySource: ReadonlyMap<string, MappedField>): void {
  const whole = bySource.get('name');
  const first = bySource.get('name.first');
  const last = bySource.get('name.last');
  const half = first ?? last;
  if (whole && half)
    throw new FieldMapError(
      half.field,
      `name is already held whole by "${whole.field}": map either name or name.first and name.last`,
    );
  if (first && !last)
    throw new FieldMapError(
      first.field,
      'name.first needs name.last: a one-word name goes to the last name only',
    );
  if (last && !first)
    throw new FieldMapError(
      last.field,
      'name.last needs name.first, or the first names would be lost: map name instead to keep it whole',
    );
  if (first && last) sameDirection([first, last], 'name');
}

/** The parts of one synced field (the name halves, the address keys) flow one way together. */
function sameDirection(parts: readonly MappedField[], synced: string): void {
  const [head, ...rest] = parts;
  const odd = rest.find((m) => m.direction !== head?.direction);
  if (head && odd)
    throw new FieldMapError(
      odd.field,
      `direction ${odd.direction} differs from "${head.field}" (${head.direction}): the parts of ${synced} flow one way together`,
    );
}
