// The push rule: a target is sent the canonical fields that differ from what it is known to hold,
// and only those. A full snapshot would overwrite a concurrent edit to another field on the target,
// which has no If-Match to stop it.
import {
  ownValue,
  sameValue,
  setOwn,
  type CanonicalAddress,
  type CanonicalFields,
} from '../canonical.ts';

/** Changed top-level fields; `metadata` is itself a patch in which null removes a key. */
export interface FieldPatch {
  name?: string;
  email?: string | null;
  phone?: string | null;
  address?: CanonicalAddress | null;
  metadata?: Record<string, string | null>;
}

/** The synced fields other than metadata, which is compared key by key. */
export const SCALAR_FIELDS = ['name', 'email', 'phone', 'address'] as const;

/** Changed keys with their new value, removed keys as null, keys sorted for stable output. */
export function metadataPatch(
  known: Record<string, string>,
  desired: Record<string, string>,
): Record<string, string | null> {
  const patch: Record<string, string | null> = {};
  const keys = [...new Set([...Object.keys(known), ...Object.keys(desired)])].sort();
  for (const key of keys) {
    const want = ownValue(desired, key);
    if (want === ownValue(known, key)) continue;
    setOwn(patch, key, want ?? null);
  }
  return patch;
}

/** What must be pushed to turn `known` into `desired`; everything when nothing is known. */
export function diffFields(known: CanonicalFields | null, desired: CanonicalFields): FieldPatch {
  const base = known ?? { name: '', email: null, phone: null, address: null, metadata: {} };
  const patch: FieldPatch = {};
  for (const field of SCALAR_FIELDS) {
    if (known === null || !sameValue(base[field], desired[field])) copyField(patch, field, desired);
  }
  const meta = metadataPatch(base.metadata, desired.metadata);
  if (Object.keys(meta).length > 0) patch.metadata = meta;
  return patch;
}

function copyField(
  patch: FieldPatch,
  field: (typeof SCALAR_FIELDS)[number],
  from: CanonicalFields,
): void {
  switch (field) {
    case 'name':
      patch.name = from.name;
      return;
    case 'email':
      patch.email = from.email;
      return;
    case 'phone':
      patch.phone = from.phone;
      return;
    case 'address':
      patch.address = from.address === null ? null : { ...from.address };
      return;
    default:
      return unreachableField(field);
  }
}

export function isEmptyPatch(patch: FieldPatch): boolean {
  return Object.keys(patch).length === 0;
}

/** The fields a patch sets: `name`, `email`, `phone`, `address`, `metadata.<key>`. */
export function patchFieldNames(patch: FieldPatch): string[] {
  return [
    ...Object.keys(patch).filter((f) => f !== 'metadata'),
    ...Object.keys(patch.metadata ?? {}).map((key) => `metadata.${key}`),
  ];
}

/** The named fields (`name`, …, `metadata.<key>`) of `fields`, as a patch. */
export function patchOfFields(fields: CanonicalFields, names: readonly string[]): FieldPatch {
  const patch: FieldPatch = {};
  for (const f of names) {
    if (f.startsWith('metadata.')) {
      const key = f.slice('metadata.'.length);
      patch.metadata = { ...patch.metadata, [key]: ownValue(fields.metadata, key) ?? null };
    } else copyField(patch, f as (typeof SCALAR_FIELDS)[number], fields);
  }
  return patch;
}

/** The part of a patch that sets the named fields (`name`, …, `metadata.<key>`). */
export function pickFields(patch: FieldPatch, names: readonly string[]): FieldPatch {
  const picked: FieldPatch = {};
  for (const f of names) {
    if (f.startsWith('metadata.')) {
      const key = f.slice('metadata.'.length);
      const value = ownValue(patch.metadata, key);
      if (value !== undefined) picked.metadata = { ...picked.metadata, [key]: value };
    } else {
      const field = f as (typeof SCALAR_FIELDS)[number];
      if (SCALAR_FIELDS.includes(field) && patch[field] !== undefined)
        Object.assign(picked, { [field]: patch[field] });
    }
  }
  return picked;
}

/** The patch less the named fields (`name`, …, `metadata.<key>`). */
export function omitFields(patch: FieldPatch, names: readonly string[]): FieldPatch {
  return pickFields(
    patch,
    patchFieldNames(patch).filter((f) => !names.includes(f)),
  );
}

/** Whether `fields` holds every value `patch` sets. */
export function holdsPatch(fields: CanonicalFields, patch: FieldPatch): boolean {
  return sameValue(applyPatch(fields, patch), fields);
}

/** The values a target holds after `patch` was applied to `known` successfully. */
export function applyPatch(known: CanonicalFields, patch: FieldPatch): CanonicalFields {
  const metadata = { ...known.metadata };
  for (const [key, value] of Object.entries(patch.metadata ?? {})) {
    if (value === null) delete metadata[key];
    else setOwn(metadata, key, value);
  }
  return {
    name: patch.name ?? known.name,
    email: patch.email === undefined ? known.email : patch.email,
    phone: patch.phone === undefined ? known.phone : patch.phone,
    address: patch.address === undefined ? known.address : patch.address,
    metadata: sortKeys(metadata),
  };
}

/** The values `fields` holds for each field the patch sets: what the patch overwrites. */
export function valuesUnder(fields: CanonicalFields, patch: FieldPatch): FieldPatch {
  const out: FieldPatch = {};
  for (const field of SCALAR_FIELDS) if (patch[field] !== undefined) copyField(out, field, fields);
  if (patch.metadata !== undefined)
    out.metadata = Object.fromEntries(
      Object.keys(patch.metadata).map((k) => [k, ownValue(fields.metadata, k) ?? null]),
    );
  return out;
}

/**
 * The fields a patch would overwrite whose value on the target is neither what we last knew
 * there (`base`) nor what the patch sets: someone else changed them since we decided the patch.
 */
export function movedUnder(base: FieldPatch, patch: FieldPatch, now: CanonicalFields): string[] {
  const moved: string[] = [];
  for (const field of SCALAR_FIELDS) {
    if (patch[field] === undefined) continue;
    const held = now[field];
    if (!sameValue(held, base[field]) && !sameValue(held, patch[field])) moved.push(field);
  }
  for (const [key, value] of Object.entries(patch.metadata ?? {})) {
    const held = ownValue(now.metadata, key) ?? null;
    if (held !== (ownValue(base.metadata, key) ?? null) && held !== value)
      moved.push(`metadata.${key}`);
  }
  return moved;
}

/** Canonical metadata keeps its keys sorted, so equal maps serialise equally. */
function sortKeys(map: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function unreachableField(value: never): never {
  throw new Error(`unknown field ${String(value)}`);
}
