import { invalidRequest } from './errors.ts';
import type { FormValue } from './form.ts';

export type Metadata = Readonly<Record<string, string>>;
/** A metadata update: `clear` empties it; a null value removes one key. */
export type MetadataUpdate = 'clear' | Readonly<Record<string, string | null>>;

const MAX_KEYS = 50;
const MAX_KEY_LENGTH = 40;
const MAX_VALUE_LENGTH = 500;

export function parseMetadata(value: FormValue | undefined): MetadataUpdate | undefined {
  if (value === undefined) return undefined;
  if (value === '') return 'clear';
  if (typeof value === 'string')
    throw invalidRequest('Invalid metadata: must be an object or an empty string', 'metadata');
  const update: [string, string | null][] = [];
  for (const [key, raw] of Object.entries(value)) {
    const param = `metadata[${key}]`;
    if (typeof raw !== 'string')
      throw invalidRequest(`Invalid value for ${param}: must be a string`, param);
    if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
      throw invalidRequest(
        `Invalid metadata key: keys must be 1 to ${MAX_KEY_LENGTH} characters`,
        param,
      );
    }
    if (raw.length > MAX_VALUE_LENGTH) {
      throw invalidRequest(
        `Invalid value for ${param}: must be at most ${MAX_VALUE_LENGTH} characters`,
        param,
      );
    }
    update.push([key, raw === '' ? null : raw]);
  }
  // Any key is an own key, `__proto__` and `constructor` too (as Object.fromEntries makes them).
  return Object.fromEntries(update);
}

/** Merges an update into stored metadata, as Stripe does on every update call. */
export function applyMetadata(current: Metadata, update: MetadataUpdate | undefined): Metadata {
  if (update === undefined) return current;
  if (update === 'clear') return {};
  const next = new Map(Object.entries(current));
  for (const [key, value] of Object.entries(update)) {
    if (value === null) next.delete(key);
    else next.set(key, value);
  }
  const count = next.size;
  if (count > MAX_KEYS) {
    throw invalidRequest(
      `Metadata can have up to ${MAX_KEYS} keys, but you've set ${count} keys.`,
      'metadata',
    );
  }
  return Object.fromEntries(next);
}

/** previous_attributes for metadata: only changed keys, null for keys that did not exist. */
export function metadataPrevious(
  before: Metadata,
  after: Metadata,
): Record<string, string | null> | undefined {
  const previous: [string, string | null][] = [];
  for (const [key, value] of Object.entries(before))
    if (!Object.hasOwn(after, key) || after[key] !== value) previous.push([key, value]);
  for (const key of Object.keys(after)) if (!Object.hasOwn(before, key)) previous.push([key, null]);
  return previous.length > 0 ? Object.fromEntries(previous) : undefined;
}
