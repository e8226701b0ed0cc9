// REST renderings of records and of the describe calls.
import type { FieldDef, ObjectDef } from './schema.ts';
import { OBJECTS } from './schema.ts';
import type { StoredRecord } from './store.ts';
import { project } from './soql/execute.ts';
import { resolveField } from './soql/match.ts';

/** A record as `GET /sobjects/{type}/{id}` returns it; `fields` is the `?fields=` list, if any. */
export function renderRecord(
  object: ObjectDef,
  record: StoredRecord,
  version: string,
  fields?: string,
): Record<string, unknown> {
  if (fields === undefined) return project(object, record, object.fields, version);
  const defs = fields.split(',').map((name) => resolveField(object, name.trim()));
  // The id comes back even when it was not asked for.
  if (!defs.some((d) => d.name === 'Id')) defs.push(resolveField(object, 'Id'));
  return project(object, record, defs, version);
}

export function recordUrl(version: string, type: string, id: string): string {
  return `/services/data/${version}/sobjects/${type}/${id}`;
}

function objectUrls(object: ObjectDef, version: string): Record<string, string> {
  const base = `/services/data/${version}/sobjects/${object.name}`;
  return { sobject: base, describe: `${base}/describe`, rowTemplate: `${base}/{ID}` };
}

function objectSummary(object: ObjectDef, version: string): Record<string, unknown> {
  return {
    name: object.name,
    label: object.label,
    labelPlural: object.labelPlural,
    keyPrefix: object.keyPrefix,
    custom: false,
    createable: true,
    updateable: true,
    deletable: true,
    queryable: true,
    retrieveable: true,
    searchable: true,
    undeletable: true,
    urls: objectUrls(object, version),
  };
}

function describeField(def: FieldDef): Record<string, unknown> {
  return {
    name: def.name,
    label: def.label,
    type: def.type,
    length: def.type === 'boolean' || def.type === 'datetime' ? 0 : def.length,
    externalId: def.externalId,
    unique: def.unique,
    caseSensitive: def.caseSensitive,
    idLookup: def.type === 'id' || def.externalId,
    nillable: !def.required && def.type !== 'id' && def.type !== 'boolean' && def.createable,
    createable: def.createable,
    updateable: def.updateable,
    defaultedOnCreate: !def.createable,
    calculated: false,
    custom: def.custom,
    filterable: true,
    sortable: true,
    referenceTo: def.referenceTo ? [def.referenceTo] : [],
    relationshipName: def.relationshipName ?? def.referenceTo ?? null,
    soapType:
      def.type === 'boolean'
        ? 'xsd:boolean'
        : def.type === 'datetime'
          ? 'xsd:dateTime'
          : def.type === 'id' || def.type === 'reference'
            ? 'tns:ID'
            : 'xsd:string',
  };
}

export function describeObject(object: ObjectDef, version: string): Record<string, unknown> {
  return {
    ...objectSummary(object, version),
    fields: object.fields.map(describeField),
    childRelationships: [],
    recordTypeInfos: [],
  };
}

export function describeGlobal(version: string): Record<string, unknown> {
  return {
    encoding: 'UTF-8',
    maxBatchSize: 200,
    sobjects: OBJECTS.map((o) => objectSummary(o, version)),
  };
}

export function objectInfo(object: ObjectDef, version: string): Record<string, unknown> {
  return { objectDescribe: objectSummary(object, version), recentItems: [] };
}
