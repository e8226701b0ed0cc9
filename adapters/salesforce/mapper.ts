// Between canonical fields and a Salesforce record. The map names, for each Salesforce field, the
// canonical value it holds; a patch maps to the Salesforce fields of its changed values only, so a
// concurrent edit to another field in Salesforce is never overwritten.
import {
  canonicalAddress,
  canonicalEmail,
  canonicalString,
  type CanonicalAddress,
  type CanonicalFields,
} from '../../core/canonical.ts';
import type { FieldPatch } from '../../core/policy/push.ts';

/**
 * A canonical value: a top-level field, one address key, `address.street` (line1 and line2
 * joined by a newline, as Salesforce's street fields hold them) or a metadata key.
 */
export type FieldSource =
  | 'name'
  | 'email'
  | 'phone'
  | 'address.street'
  | 'address.city'
  | 'address.state'
  | 'address.postal_code'
  | 'address.country'
  | `metadata.${string}`;

/** Salesforce field name → the canonical value it holds. */
export type FieldMap = Readonly<Record<string, FieldSource>>;

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

function street(a: CanonicalAddress): string | null {
  if (a.line2 === null) return a.line1;
  return `${a.line1 ?? ''}\n${a.line2}`;
}

function addressPart(a: CanonicalAddress | null, key: string): string | null {
  if (a === null) return null;
  if (key === 'street') return street(a);
  return a[key as keyof CanonicalAddress] ?? null;
}

/**
 * The value a source takes in a patch; undefined when the patch leaves it alone. The address is
 * replaced whole, so every address field is sent when it changed.
 */
function fromPatch(patch: FieldPatch, source: FieldSource): string | null | undefined {
  if (source === 'name' || source === 'email' || source === 'phone') return patch[source];
  if (source.startsWith(ADDRESS)) {
    return patch.address === undefined
      ? undefined
      : addressPart(patch.address, source.slice(ADDRESS.length));
  }
  return patch.metadata?.[source.slice(METADATA.length)];
}

function fromFields(fields: CanonicalFields, source: FieldSource): string | null {
  if (source === 'name' || source === 'email' || source === 'phone') return fields[source];
  if (source.startsWith(ADDRESS)) return addressPart(fields.address, source.slice(ADDRESS.length));
  return fields.metadata[source.slice(METADATA.length)] ?? null;
}

/** Every mapped field, empty ones as null, so that a create over an earlier try's record leaves it exact. */
export function valuesOfFields(map: FieldMap, fields: CanonicalFields): SalesforceValues {
  return Object.fromEntries(
    Object.entries(map).map(([field, source]) => [field, fromFields(fields, source)]),
  );
}

/** Only the fields the patch changes; empty when it changes nothing Salesforce holds. */
export function valuesOfPatch(map: FieldMap, patch: FieldPatch): SalesforceValues {
  const out: SalesforceValues = {};
  for (const [field, source] of Object.entries(map)) {
    const value = fromPatch(patch, source);
    if (value !== undefined) out[field] = value;
  }
  return out;
}

/** The canonical fields a Salesforce record holds; unmapped values are empty. */
export function fieldsOfRecord(map: FieldMap, record: Record<string, unknown>): CanonicalFields {
  const read = (source: FieldSource): string | null => {
    const entry = Object.entries(map).find(([, s]) => s === source);
    const value = entry ? record[entry[0]] : undefined;
    return typeof value === 'string' ? value : null;
  };
  const [line1, line2] = splitStreet(read('address.street'));
  const metadata: Record<string, string> = {};
  for (const source of Object.values(map)) {
    if (!source.startsWith(METADATA)) continue;
    const value = canonicalString(read(source));
    if (value !== null) metadata[source.slice(METADATA.length)] = value;
  }
  return {
    name: canonicalString(read('name')) ?? '',
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

/** The Salesforce fields a lookup reads. */
export function mappedFieldNames(map: FieldMap): string[] {
  return Object.keys(map);
}
