// Control endpoints under `/_emulator/`, mirroring the embedded emulator's methods, for the
// sandbox and for tests that run the emulator as a separate process.
import type { SalesforceEmulator } from '../api.ts';
import { SalesforceApiError } from '../errors.ts';
import type { FaultSpec } from '../faults.ts';
import type { Reply } from '../http.ts';
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
        emulator.setDailyApiLimit(positiveInteger(parseJson(bodyText)));
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
        return recordsReply(method, path, emulator);
    }
  } catch (err) {
    if (err instanceof SalesforceApiError)
      return { status: err.status, body: { error: err.errorCode, message: err.message } };
    throw err;
  }
}

function recordsReply(method: string, path: string, emulator: SalesforceEmulator): Reply {
  const match = /^\/_emulator\/records\/([A-Za-z_]+)\/?$/.exec(path);
  if (method !== 'GET' || !match || !findObject(match[1]!))
    return {
      status: 404,
      body: { error: 'NOT_FOUND', message: `no control endpoint ${method} ${path}` },
    };
  return { status: 200, body: emulator.records(match[1]!, { includeDeleted: true }) };
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

function positiveInteger(body: unknown): number {
  const limit = isPlainObject(body) ? body.dailyApiLimit : undefined;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0)
    throw badRequest('dailyApiLimit must be a non-negative integer');
  return limit;
}
