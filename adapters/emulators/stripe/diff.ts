import { metadataPrevious } from './metadata.ts';
import type { Metadata } from './metadata.ts';

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * `data.previous_attributes` of an `*.updated` event: the old values of the top-level keys that
 * changed; for metadata only the changed sub-keys. Undefined when nothing changed.
 */
export function previousAttributes(
  before: object,
  after: object,
): Record<string, unknown> | undefined {
  const old = before as Record<string, unknown>;
  const now = after as Record<string, unknown>;
  const previous: Record<string, unknown> = {};
  let changed = false;
  for (const key of Object.keys(now)) {
    if (key === 'metadata') {
      const meta = metadataPrevious((old[key] ?? {}) as Metadata, (now[key] ?? {}) as Metadata);
      if (meta !== undefined) {
        previous[key] = meta;
        changed = true;
      }
    } else if (!sameValue(old[key], now[key])) {
      previous[key] = old[key] ?? null;
      changed = true;
    }
  }
  return changed ? previous : undefined;
}
