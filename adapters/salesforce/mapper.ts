// Between canonical fields and a Salesforce record. The map names, for each Salesforce field, the
// canonical value it holds and which way it flows; a patch maps to the Salesforce fields of its
// changed values only, so a concurrent edit to another field in Salesforce is never overwritten.
// Writes carry only the fields that flow to Salesforce; reads give back every mapped field.
import {
  canonicalAddress,
  canonicalEmail,
  canonicalString,
  ownValue,
  setOwn,
  type CanonicalAddress,
  type CanonicalFields,
} from '../../core/canonical.ts';
import type { FieldPatch } from '../../core/policy/push.ts';
import { joinName, splitName } from './name-split.ts';

/**
 * A canonical value: a top-level field, one half of the name (split as `splitName` says), one
 * address key, `address.street` (line1 and line2 joined by a newline, as Salesforce's street
 * fields hold them) or a metadata key.
 */
export type FieldSource =
  | 'name'
  | 'name.first'
  | 'name.last'
  | 'email'
  | 'phone'
  | 'address.street'
  | 'address.city'
  | 'address.state'
  | 'address.postal_code'
  | 'address.country'
  | `metadata.${string}`;

/** Every source but the metadata keys. */
export const FIXED_SOURCES = [
  'name',
  'name.first',
  'name.last',
  'email',
  'phone',
  'address.street',
  'address.city',
  'address.state',
  'address.postal_code',
  'address.country',
] as const satisfies readonly FieldSource[];

/**
 * Which way a mapped field flows: `both`, `to_salesforce` (written, never taken back) or
 * `from_salesforce` (read, and only a Salesforce edit may change it; never written).
 */
export type Direction = 'both' | 'to_salesforce' | 'from_salesforce';
export const DIRECTIONS = [
  'both',
  'to_salesforce',
  'from_salesforce',
] as const satisfies readonly Direction[];

/** One Salesforce field: the canonical value it holds, and which way it flows. */
export interface FieldMapping {
  readonly canonical: FieldSource;
  readonly direction: Direction;
}

/** Salesforce field name → what it holds; a bare source flows both ways. */
export type FieldMap = Readonly<Record<string, FieldSource | FieldMapping>>;

/** One entry of a map, with its direction filled in. */
export interface MappedField extends FieldMapping {
  readonly field: string;
}

/** For `Account`. `Rtws_Email__c` is a custom email field: an Account has no email of its own. */
export const DEFAULT_ACCOUNT_FIELD_MAP: FieldMap = Object.freeze({
  Name: 'name',
  Phone: 'phone',
  BillingStreet: 'address.street',
  BillingCity: 'address.city',
  BillingState: 'address.state',
  BillingPostalCode: 'address.postal_code',
  BillingCountry: 'address.country',
  Rtws_Email__c: 'email',
});

const ADDRESS = 'address.';
const METADATA = 'metadata.';

/** A record body: null unsets the field. */
export type SalesforceValues = Record<string, string | null>;

export function mappedFields(map: FieldMap): MappedField[] {
  return Object.entries(map).map(([field, m]) =>
    typeof m === 'string'
      ? { field, canonical: m, direction: 'both' }
      : { field, canonical: m.canonical, direction: m.direction },
  );
}

const toSalesforce = (m: MappedField) => m.direction !== 'from_salesforce';
const fromSalesforce = (m: MappedField) => m.direction !== 'to_salesforce';

/**
 * The synced field a source is part of, as the actor and the merge name them: `name`, `email`,
 * `phone`, `address` (replaced whole) or `metadata.<key>`.
 */
export function syncedFieldOf(source: FieldSource): string {
  if (source.startsWith(METADATA)) return source;
  return source.slice(0, source.includes('.') ? source.indexOf('.') : undefined);
}

/**
 * The synced fields a Salesforce edit may change (mapped `both` or `from_salesforce`), sorted:
 * what an inbound read of Salesforce may merge into the catalogue. Unmapped fields and those
 * mapped `to_salesforce` are the catalogue's alone.
 */
export function inboundSources(map: FieldMap): string[] {
  return syncedFields(mappedFields(map).filter(fromSalesforce));
}

/** The synced fields rtws writes to Salesforce (mapped `both` or `to_salesforce`), sorted. */
export function outboundSources(map: FieldMap): string[] {
  return syncedFields(mappedFields(map).filter(toSalesforce));
}

/**
 * The synced fields a change event tells whole, given the fields it names as changed: those each
 * of whose mapped fields it names. A split name or an address of which only a part changed is
 * not told whole; a read of the record brings it.
 */
export function fieldsToldWhole(map: FieldMap, changedFields: readonly string[]): string[] {
  const changed = new Set(changedFields.map((f) => f.toLowerCase()));
  const mapped = mappedFields(map);
  return syncedFields(mapped).filter((synced) =>
    mapped
      .filter((m) => syncedFieldOf(m.canonical) === synced)
      .every((m) => changed.has(m.field.toLowerCase())),
  );
}

/** The synced fields any of these Salesforce fields (named in any case) is mapped to. */
export function syncedFieldsOf(map: FieldMap, salesforceFields: readonly string[]): string[] {
  const named = new Set(salesforceFields.map((f) => f.toLowerCase()));
  return syncedFields(mappedFields(map).filter((m) => named.has(m.field.toLowerCase())));
}

/** Whether a Salesforce edit may change this synced field (`name`, …, `metadata.<key>`). */
export function flowsFromSalesforce(map: FieldMap, field: string): boolean {
  return inboundSources(map).includes(field);
}

/** Whether rtws writes this synced field to Salesforce. */
export function flowsToSalesforce(map: FieldMap, field: string): boolean {
  return outboundSources(map).includes(field);
}

function syncedFields(mapped: readonly MappedField[]): string[] {
  return [...new Set(mapped.map((m) => syncedFieldOf(m.canonical)))].sort();
}

function street(a: CanonicalAddress): string | null {
  if (a.line2 === null) return a.line1;
  return `${a.line1 ?? ''}\n${a.line2}`;
}

function addressPart(a: CanonicalAddress | null, key: string): string | null {
  if (a === null) return null;
  if (key === 'street') return street(a);
  return a[key as keyof CanonicalAddress] ?? null;
}

function namePart(name: string, source: 'name' | 'name.first' | 'name.last'): string | null {
  if (source === 'name') return name;
  const parts = splitName(name);
  return source === 'name.first' ? parts.first : parts.last;
}

/**
 * The value a source takes in a patch; undefined when the patch leaves it alone. The address is
 * replaced whole, so every address field is sent when it changed; so are both name halves.
 */
function fromPatch(patch: FieldPatch, source: FieldSource): string | null | undefined {
  if (source === 'name' || source === 'name.first' || source === 'name.last')
    return patch.name === undefined ? undefined : namePart(patch.name, source);
  if (source === 'email' || source === 'phone') return patch[source];
  if (source.startsWith(ADDRESS)) {
    return patch.address === undefined
      ? undefined
      : addressPart(patch.address, source.slice(ADDRESS.length));
  }
  return ownValue(patch.metadata, source.slice(METADATA.length));
}

function fromFields(fields: CanonicalFields, source: FieldSource): string | null {
  if (source === 'name' || source === 'name.first' || source === 'name.last')
    return namePart(fields.name, source);
  if (source === 'email' || source === 'phone') return fields[source];
  if (source.startsWith(ADDRESS)) return addressPart(fields.address, source.slice(ADDRESS.length));
  return ownValue(fields.metadata, source.slice(METADATA.length)) ?? null;
}

/**
 * Every field that flows to Salesforce, empty ones as null, so that a create over an earlier
 * try's record leaves it exact. `from_salesforce` fields are never sent.
 */
export function valuesOfFields(map: FieldMap, fields: CanonicalFields): SalesforceValues {
  return Object.fromEntries(
    mappedFields(map)
      .filter(toSalesforce)
      .map((m) => [m.field, fromFields(fields, m.canonical)]),
  );
}

/**
 * Only the fields the patch changes that flow to Salesforce; empty when it changes nothing
 * Salesforce is sent (an unmapped or a `from_salesforce` value), which then costs no call.
 */
export function valuesOfPatch(map: FieldMap, patch: FieldPatch): SalesforceValues {
  const out: SalesforceValues = {};
  for (const m of mappedFields(map).filter(toSalesforce)) {
    const value = fromPatch(patch, m.canonical);
    if (value !== undefined) out[m.field] = value;
  }
  return out;
}

/**
 * The canonical fields a Salesforce record holds, through every mapped field whatever its
 * direction; unmapped values are empty. Field names match in any case, as Salesforce's do.
 */
export function fieldsOfRecord(map: FieldMap, record: Record<string, unknown>): CanonicalFields {
  const byLowerName = new Map(Object.entries(record).map(([k, v]) => [k.toLowerCase(), v]));
  const mapped = mappedFields(map);
  const read = (source: FieldSource): string | null => {
    const entry = mapped.find((m) => m.canonical === source);
    const value = entry ? byLowerName.get(entry.field.toLowerCase()) : undefined;
    return typeof value === 'string' ? value : null;
  };
  const [line1, line2] = splitStreet(read('address.street'));
  const metadata: Record<string, string> = {};
  for (const { canonical } of mapped) {
    if (!canonical.startsWith(METADATA)) continue;
    const value = canonicalString(read(canonical));
    if (value !== null) setOwn(metadata, canonical.slice(METADATA.length), value);
  }
  return {
    name: canonicalString(read('name')) ?? joinName(read('name.first'), read('name.last')) ?? '',
    email: canonicalEmail(read('email')),
    phone: canonicalString(read('phone')),
    address: canonicalAddress({
      line1,
      line2,
      city: read('address.city'),
      state: read('address.state'),
      postal_code: read('address.postal_code'),
      country: read('address.country'),
    }),
    metadata: Object.fromEntries(Object.entries(metadata).sort(([a], [b]) => (a < b ? -1 : 1))),
  };
}

function splitStreet(value: string | null): [string | null, string | null] {
  if (value === null) return [null, null];
  const at = value.indexOf('\n');
  return at < 0 ? [value, null] : [value.slice(0, at), value.slice(at + 1)];
}

/** The Salesforce fields a lookup or a read-back reads: every mapped one. */
export function mappedFieldNames(map: FieldMap): string[] {
  return Object.keys(map);
}
