// Shared by the control endpoints: reading their JSON bodies and answering their failures.
import { SalesforceApiError } from '../errors.ts';
import type { Reply } from '../http.ts';
import { isPlainObject, parseJson } from '../http.ts';

export const ok: Reply = { status: 200, body: { ok: true } };

export const badRequest = (message: string): SalesforceApiError =>
  new SalesforceApiError(400, 'INVALID_REQUEST', message);

export const noEndpoint = (method: string, path: string): Reply => ({
  status: 404,
  body: { error: 'NOT_FOUND', message: `no control endpoint ${method} ${path}` },
});

/** The body as a JSON object; an empty body counts as `{}`. */
export function objectBody(text: string): Record<string, unknown> {
  const body = text.trim() === '' ? {} : parseJson(text);
  if (!isPlainObject(body)) throw badRequest('a JSON object is required');
  return body;
}

export function nonNegativeInteger(body: unknown, field: string): number {
  const n = isPlainObject(body) ? body[field] : undefined;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
    throw badRequest(`${field} must be a non-negative integer`);
  return n;
}

export function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value !== undefined && typeof value !== 'string')
    throw badRequest(`${field} must be a string`);
  return value;
}
