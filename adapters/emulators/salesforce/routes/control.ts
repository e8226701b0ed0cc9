// Control endpoints under `/_emulator/`, mirroring the embedded emulator's methods, for the
// sandbox and for tests that run the emulator as a separate process.
import type { SalesforceEmulator } from '../api.ts';
import { SalesforceApiError } from '../errors.ts';
import type { FaultSpec } from '../faults.ts';
import type { Reply } from '../http.ts';
import type { PersonOptions, RecordRef } from '../person.ts';
import { isPlainObject, parseJson } from '../http.ts';
import { findObject } from '../schema.ts';

const ok: Reply = { status: 200, body: { ok: true } };

export async function controlReply(
  method: string,
  path: string,
  bodyText: string,
  emulator: SalesforceEmulator,
): Promise<Reply> {
  const action = `${method} ${path.replace(/^\/_emulator/, '').replace(/\/$/, '')}`;
  try {
    switch (action) {
      case 'POST /tokens/expire':
        emulator.expireTokens();
        return ok;
      case 'POST /faults':
        emulator.injectFault(faultSpec(parseJson(bodyText)));
        return ok;
      case 'DELETE /faults':
        emulator.clearFaults();
        return ok;
      case 'POST /quota/exhaust':
        emulator.exhaustQuota();
        return ok;
      case 'POST /quota/restore':
        emulator.restoreQuota();
        return ok;
      case 'POST /quota':
        emulator.setDailyApiLimit(nonNegativeInteger(parseJson(bodyText), 'dailyApiLimit'));
        return ok;
      case 'POST /quota/usage':
        emulator.setApiUsage(nonNegativeInteger(parseJson(bodyText), 'apiCalls'));
        return ok;
      case 'POST /reset':
        emulator.reset();
        return ok;
      case 'POST /flush':
        await emulator.flush();
        return ok;
      case 'GET /stats':
        return { status: 200, body: emulator.stats() };
      default:
        return recordsReply(method, path, bodyText, emulator);
    }
  } catch (err) {
    if (err instanceof SalesforceApiError)
      return { status: err.status, body: { error: err.errorCode, message: err.message } };
    throw err;
  }
}

// `/_emulator/records/{type}`, and `/{id}` or `/{externalIdField}/{value}` below it.
const RECORDS = /^\/_emulator\/records\/([A-Za-z_]+)(?:\/([^/]+)(?:\/([^/]+))?)?\/?$/;

function recordsReply(
  method: string,
  path: string,
  bodyText: string,
  emulator: SalesforceEmulator,
): Reply {
  const match = RECORDS.exec(path);
  const type = match?.[1];
  if (!match || !type || !findObject(type)) return noEndpoint(method, path);
  const [, , first, second] = match;
  if (first === undefined)
    return method === 'GET'
      ? { status: 200, body: emulator.records(type, { includeDeleted: true }) }
      : noEndpoint(method, path);
  const ref: RecordRef =
    second === undefined ? segment(first) : { field: segment(first), value: segment(second) };
  if (method === 'PATCH') {
    const { fields, options } = personEdit(parseJson(bodyText));
    return { status: 200, body: emulator.editAsPerson(type, ref, fields, options) };
  }
  if (method === 'DELETE') {
    const options = personOptions(bodyText.trim() === '' ? {} : parseJson(bodyText));
    return { status: 200, body: emulator.deleteAsPerson(type, ref, options) };
  }
  return noEndpoint(method, path);
}

function segment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw badRequest(`malformed path segment: ${raw}`);
  }
}

const noEndpoint = (method: string, path: string): Reply => ({
  status: 404,
  body: { error: 'NOT_FOUND', message: `no control endpoint ${method} ${path}` },
});

function personEdit(body: unknown): {
  fields: Record<string, unknown>;
  options: PersonOptions;
} {
  const fields = isPlainObject(body) ? body.fields : undefined;
  if (!isPlainObject(fields)) throw badRequest('fields must be a JSON object');
  return { fields, options: personOptions(body) };
}

function personOptions(body: unknown): PersonOptions {
  if (!isPlainObject(body)) throw badRequest('a JSON object is required');
  const { userId } = body;
  if (userId !== undefined && typeof userId !== 'string')
    throw badRequest('userId must be a string');
  return userId === undefined ? {} : { userId };
}

const badRequest = (message: string): SalesforceApiError =>
  new SalesforceApiError(400, 'INVALID_REQUEST', message);

function faultSpec(body: unknown): FaultSpec {
  if (!isPlainObject(body)) throw badRequest('a JSON object is required');
  const { method, path, count, status, errorCode, message } = body;
  const optional = (v: unknown, type: 'string' | 'number'): boolean =>
    v === undefined || typeof v === type;
  if (
    !optional(method, 'string') ||
    !optional(path, 'string') ||
    !optional(errorCode, 'string') ||
    !optional(message, 'string')
  ) {
    throw badRequest('method, path, errorCode and message must be strings');
  }
  if (!optional(count, 'number') || !optional(status, 'number'))
    throw badRequest('count and status must be numbers');
  try {
    if (typeof path === 'string') new RegExp(path);
  } catch {
    throw badRequest('path must be a regular expression');
  }
  return body;
}

function nonNegativeInteger(body: unknown, field: string): number {
  const n = isPlainObject(body) ? body[field] : undefined;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
    throw badRequest(`${field} must be a non-negative integer`);
  return n;
}
