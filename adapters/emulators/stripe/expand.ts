import { invalidRequest } from './errors.ts';
import type { FormObject } from './form.ts';
import { optStringArray } from './params.ts';

/** Resolves one expandable field (an id) into the object it names. */
export type Expander = (id: string) => object;

export function expandList(params: FormObject): string[] {
  return optStringArray(params, 'expand') ?? [];
}

/**
 * Applies `expand[]` paths to a rendered object. `prefix` is `data.` for lists. Paths not in
 * `expanders` are rejected, as Stripe rejects them.
 */
export function checkExpand(
  paths: readonly string[],
  expanders: Readonly<Record<string, Expander>>,
  prefix = '',
): string[] {
  return paths.map((path) => {
    const field = prefix !== '' && path.startsWith(prefix) ? path.slice(prefix.length) : path;
    if (!Object.hasOwn(expanders, field) || (prefix !== '' && !path.startsWith(prefix))) {
      throw invalidRequest(`This property cannot be expanded (${path}).`, 'expand');
    }
    return field;
  });
}

export function expandObject<T extends object>(
  object: T,
  fields: readonly string[],
  expanders: Readonly<Record<string, Expander>>,
): T {
  if (fields.length === 0) return object;
  const copy = { ...object } as Record<string, unknown>;
  for (const field of fields) {
    const id = copy[field];
    if (typeof id === 'string') copy[field] = expanders[field]!(id);
  }
  return copy as T;
}
