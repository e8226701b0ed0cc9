import { invalidRequest, missingParameter, unknownParameter } from './errors.ts';
import type { FormObject, FormValue } from './form.ts';

/** Rejects the first parameter not in `allowed`, named as Stripe names it (`address[foo]`). */
export function checkKeys(params: FormObject, allowed: ReadonlySet<string>, prefix?: string): void {
  for (const key of Object.keys(params)) {
    if (!allowed.has(key)) throw unknownParameter(prefix === undefined ? key : `${prefix}[${key}]`);
  }
}

function expectString(value: FormValue, param: string): string {
  if (typeof value !== 'string')
    throw invalidRequest(`Invalid string: ${param}`, param, 'parameter_invalid_string');
  return value;
}

/** undefined: absent; null: sent empty (which unsets the field); otherwise the string. */
export function optString(params: FormObject, key: string, max = 5000): string | null | undefined {
  const value = params[key];
  if (value === undefined) return undefined;
  const text = expectString(value, key);
  if (text === '') return null;
  if (text.length > max)
    throw invalidRequest(
      `Invalid string: ${key} must be at most ${max} characters`,
      key,
      'parameter_invalid_string',
    );
  return text;
}

export function reqString(params: FormObject, key: string): string {
  const value = optString(params, key);
  if (value === undefined || value === null) throw missingParameter(key);
  return value;
}

export function optInt(params: FormObject, key: string): number | undefined {
  const value = params[key];
  if (value === undefined) return undefined;
  const text = expectString(value, key);
  if (!/^-?\d+$/.test(text))
    throw invalidRequest(`Invalid integer: ${text}`, key, 'parameter_invalid_integer');
  return Number(text);
}

export function optBool(params: FormObject, key: string): boolean | undefined {
  const value = params[key];
  if (value === undefined) return undefined;
  const text = expectString(value, key);
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw invalidRequest(`Invalid boolean: ${text}`, key);
}

export function optEnum<T extends string>(
  params: FormObject,
  key: string,
  allowed: readonly T[],
): T | null | undefined {
  const value = optString(params, key);
  if (value === undefined || value === null) return value;
  if (!(allowed as readonly string[]).includes(value)) {
    throw invalidRequest(`Invalid ${key}: must be one of ${allowed.join(', ')}`, key);
  }
  return value as T;
}

export function optObject(params: FormObject, key: string): FormObject | null | undefined {
  const value = params[key];
  if (value === undefined) return undefined;
  if (value === '') return null;
  if (typeof value === 'string')
    throw invalidRequest(`Invalid object: ${key}`, key, 'parameter_invalid_empty');
  return value;
}

/** Arrays arrive as `k[0]=a&k[1]=b` (index-keyed) or `k[]=a`; both decode to index-keyed objects. */
export function optStringArray(params: FormObject, key: string): string[] | undefined {
  const value = params[key];
  if (value === undefined) return undefined;
  if (value === '') return [];
  if (typeof value === 'string') throw invalidRequest(`Invalid array: ${key}`, key);
  return Object.keys(value)
    .sort((a, b) => Number(a) - Number(b))
    .map((index) => expectString(value[index]!, `${key}[${index}]`));
}

/** `limit` for lists and search: 1–100, default 10. */
export function listLimit(params: FormObject): number {
  const limit = optInt(params, 'limit') ?? 10;
  if (limit < 1 || limit > 100) {
    throw invalidRequest(
      'This value must be greater than or equal to 1 and less than or equal to 100.',
      'limit',
    );
  }
  return limit;
}

export function isEmail(text: string): boolean {
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(text);
}
