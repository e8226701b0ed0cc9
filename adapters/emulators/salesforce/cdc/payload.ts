// The record part of a change event as a CometD subscriber receives it: CREATE and UNDELETE carry
// every non-empty field, UPDATE the changed ones (null when emptied) plus LastModifiedDate, DELETE
// none. Address and name components nest under their compound field (`BillingAddress.City`), and
// datetimes are UTC strings. Never Id, IsDeleted or SystemModstamp.
import { createHash } from 'node:crypto';
import type { ObjectDef } from '../schema.ts';
import type { RecordChange } from '../store.ts';
import type { FieldValue } from '../values.ts';

/** Where a field goes in the event: top level, or a component of a compound field. */
interface EventPath {
  readonly compound?: string;
  readonly name: string;
}

const NOT_IN_EVENTS = new Set(['Id', 'IsDeleted', 'SystemModstamp']);
const ADDRESS_PARTS = ['Street', 'City', 'State', 'PostalCode', 'Country'];

// Salesforce's compound fields on the emulated objects: the addresses, and Contact's name.
const COMPOUNDS: Record<string, Record<string, EventPath>> = {
  Account: addressPaths('Billing'),
  Contact: {
    ...addressPaths('Mailing'),
    FirstName: { compound: 'Name', name: 'FirstName' },
    LastName: { compound: 'Name', name: 'LastName' },
  },
};

function addressPaths(prefix: string): Record<string, EventPath> {
  return Object.fromEntries(
    ADDRESS_PARTS.map((part) => [`${prefix}${part}`, { compound: `${prefix}Address`, name: part }]),
  );
}

const pathOf = (object: ObjectDef, field: string): EventPath =>
  COMPOUNDS[object.name]?.[field] ?? { name: field };

/** The name `changedFields` lists: `BillingAddress.City` for a component. */
const changedName = (path: EventPath): string =>
  path.compound ? `${path.compound}.${path.name}` : path.name;

export interface RecordPart {
  readonly fields: Record<string, unknown>;
  readonly changedFields: string[];
}

export function recordPart(change: RecordChange): RecordPart {
  switch (change.kind) {
    case 'CREATE':
    case 'UNDELETE':
      return {
        fields: nested(
          change,
          eventFields(change).filter((f) => change.fields[f] !== null),
        ),
        changedFields: [],
      };
    case 'UPDATE':
      return updatePart(change);
    case 'DELETE':
      return { fields: {}, changedFields: [] };
    default: {
      const never: never = change.kind;
      throw new Error(`unknown change kind ${String(never)}`);
    }
  }
}

function updatePart(change: RecordChange): RecordPart {
  const previous = change.previous ?? {};
  // LastModifiedDate always, even for a save that changed nothing; the user only when another saved.
  const changed = eventFields(change).filter(
    (f) => f === 'LastModifiedDate' || previous[f] !== change.fields[f],
  );
  const ordered = [...changed.filter((f) => f !== 'LastModifiedDate'), 'LastModifiedDate'];
  return {
    fields: nested(change, ordered),
    changedFields: ordered.map((f) => changedName(pathOf(change.object, f))),
  };
}

function eventFields(change: RecordChange): string[] {
  return change.object.fields.map((f) => f.name).filter((name) => !NOT_IN_EVENTS.has(name));
}

function nested(change: RecordChange, names: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of names) {
    const value = eventValue(change.object, name, change.fields[name] ?? null);
    const path = pathOf(change.object, name);
    if (!path.compound) {
      out[path.name] = value;
      continue;
    }
    const parent = (out[path.compound] ??= {}) as Record<string, unknown>;
    parent[path.name] = value;
  }
  return out;
}

function eventValue(object: ObjectDef, name: string, value: FieldValue): unknown {
  const def = object.byLowerName.get(name.toLowerCase());
  if (def?.type === 'datetime' && typeof value === 'string') return new Date(value).toISOString();
  return value;
}

const schemas = new Map<string, string>();

/** The `schema` id of an entity's events: stable while its fields stay the same. */
export function schemaId(object: ObjectDef): string {
  let id = schemas.get(object.name);
  if (!id) {
    const digest = createHash('sha256').update(
      `${object.name}:${object.fields.map((f) => f.name).join(',')}`,
    );
    id = digest.digest('base64url').slice(0, 22);
    schemas.set(object.name, id);
  }
  return id;
}
