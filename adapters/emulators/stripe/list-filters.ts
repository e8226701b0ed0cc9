import { invalidRequest } from './errors.ts';
import type { FormObject } from './form.ts';
import { checkKeys, optInt } from './params.ts';

const RANGE_KEYS: ReadonlySet<string> = new Set(['gt', 'gte', 'lt', 'lte']);

/** `created=n` or `created[gte]=n` and friends, as a predicate on unix seconds. */
export function createdFilter(
  params: FormObject,
  key = 'created',
): ((created: number) => boolean) | undefined {
  const value = params[key];
  if (value === undefined) return undefined;
  if (typeof value === 'string') {
    const exact = optInt(params, key)!;
    return (created) => created === exact;
  }
  checkKeys(value, RANGE_KEYS, key);
  const bound = (name: string) => {
    const n = optInt(value, name);
    if (n === undefined) return undefined;
    return n;
  };
  const gt = bound('gt');
  const gte = bound('gte');
  const lt = bound('lt');
  const lte = bound('lte');
  if ([gt, gte, lt, lte].every((b) => b === undefined))
    throw invalidRequest(`Invalid ${key}: empty range`, key);
  return (created) =>
    (gt === undefined || created > gt) &&
    (gte === undefined || created >= gte) &&
    (lt === undefined || created < lt) &&
    (lte === undefined || created <= lte);
}

/** Combines optional predicates; undefined entries are ignored. */
export function allOf<T>(
  ...predicates: (((value: T) => boolean) | undefined)[]
): (value: T) => boolean {
  const active = predicates.filter((p): p is (value: T) => boolean => p !== undefined);
  return (value) => active.every((p) => p(value));
}

/** The list envelope every `GET /v1/<resource>` answers with. */
export function listEnvelope(data: unknown[], hasMore: boolean, url: string) {
  return { object: 'list' as const, data, has_more: hasMore, url };
}
