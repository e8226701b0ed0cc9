// Canonical content: the form every comparison between systems uses, so that formatting
// differences (a trailing space, "" versus null, an email's case) never look like changes.
import {
  ADDRESS_KEYS,
  RESERVED_METADATA_KEYS,
  type Address,
  type SyncedFields,
} from './customer.ts';

export type CanonicalAddress = Record<(typeof ADDRESS_KEYS)[number], string | null>;

export interface CanonicalFields {
  name: string;
  email: string | null;
  phone: string | null;
  address: CanonicalAddress | null;
  metadata: Record<string, string>;
}

export function canonicalString(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed;
}

export function canonicalEmail(value: string | null | undefined): string | null {
  return canonicalString(value)?.toLowerCase() ?? null;
}

/** All six keys, or null when every key is empty. */
export function canonicalAddress(
  address: Partial<Address> | null | undefined,
): CanonicalAddress | null {
  if (!address) return null;
  const out = {} as CanonicalAddress;
  let any = false;
  for (const key of ADDRESS_KEYS) {
    const v = canonicalString(address[key]);
    out[key] = key === 'country' && v ? v.toUpperCase() : v;
    any ||= v !== null;
  }
  return any ? out : null;
}

const reserved = new Set<string>(RESERVED_METADATA_KEYS);

/**
 * A map's own value for a key, or undefined. A metadata key may be named like a member of
 * `Object.prototype` (`constructor`, `toString`), which plain indexing reads where the map has no
 * such key of its own.
 */
export function ownValue<T>(
  map: Readonly<Record<string, T>> | null | undefined,
  key: string,
): T | undefined {
  return map != null && Object.hasOwn(map, key) ? map[key] : undefined;
}

/**
 * Sets a map's own key. A metadata key may be `__proto__`, which plain assignment takes for the
 * object's prototype and drops (as it would a key named so in an object literal).
 */
export function setOwn<T>(map: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__')
    Object.defineProperty(map, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  else map[key] = value;
}

/** String values, rtws's own keys removed, keys sorted so that equal maps serialise equally. */
export function canonicalMetadata(
  metadata: Record<string, unknown> | null | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (!metadata) return out;
  for (const key of Object.keys(metadata).sort()) {
    const v = metadata[key];
    if (reserved.has(key) || v === null || v === undefined || v === '') continue;
    setOwn(out, key, typeof v === 'string' ? v : JSON.stringify(v));
  }
  return out;
}

export function canonicalFields(fields: SyncedFields): CanonicalFields {
  return {
    name: canonicalString(fields.name) ?? '',
    email: canonicalEmail(fields.email),
    phone: canonicalString(fields.phone),
    address: canonicalAddress(fields.address),
    metadata: canonicalMetadata(fields.metadata),
  };
}

/** One field's value by its name (`name`, …, `metadata.<key>`); null when absent. */
export function fieldValue(c: CanonicalFields, field: string): unknown {
  if (field.startsWith('metadata.'))
    return ownValue(c.metadata, field.slice('metadata.'.length)) ?? null;
  return c[field as keyof CanonicalFields] ?? null;
}

/** The synced fields by name: `name`, `email`, `phone`, `address` and `metadata.<key>`. */
export function fieldNames(...contents: CanonicalFields[]): string[] {
  const keys = new Set(contents.flatMap((c) => Object.keys(c.metadata)));
  return ['name', 'email', 'phone', 'address', ...[...keys].sort().map((k) => `metadata.${k}`)];
}

/** The fields whose values differ between two contents. */
export function differingFields(a: CanonicalFields, b: CanonicalFields): string[] {
  return fieldNames(a, b).filter((f) => !sameValue(fieldValue(a, f), fieldValue(b, f)));
}

/** Deep equality for canonical values (strings, nulls and flat string maps). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) =>
    sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  );
}
