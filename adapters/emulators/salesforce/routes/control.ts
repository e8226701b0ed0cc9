// Control endpoints under `/_emulator/`, mirroring the embedded emulator's methods, for the
// sandbox and for tests that run the emulator as a separate process.
import type { SalesforceEmulator } from '../api.ts';
import { SalesforceApiError } from '../errors.ts';
import type { FaultSpec } from '../faults.ts';
import type { Reply } from '../http.ts';
import { isPlainObject, parseJson } from '../http.ts';
import { badRequest, nonNegativeInteger, ok } from './control-body.ts';
import { eventsReply } from './control-events.ts';
import { recordsReply } from './control-records.ts';

export async function controlReply(
  method: string,
  url: URL,
  bodyText: string,
  emulator: SalesforceEmulator,
): Promise<Reply> {
  const action = `${method} ${url.pathname.replace(/^\/_emulator/, '').replace(/\/$/, '')}`;
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
        return (
          eventsReply(action, bodyText, emulator) ?? recordsReply(method, url, bodyText, emulator)
        );
    }
  } catch (err) {
    if (err instanceof SalesforceApiError)
      return { status: err.status, body: { error: err.errorCode, message: err.message } };
    throw err;
  }
}

function faultSpec(body: unknown): FaultSpec {
  if (!isPlainObject(body)) throw badRequest('a JSON object is required');
  const { method, path, count, status, errorCode, message, phase } = body;
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
  if (phase !== undefined && phase !== 'before' && phase !== 'after')
    throw badRequest('phase must be "before" or "after"');
  try {
    if (typeof path === 'string') new RegExp(path);
  } catch {
    throw badRequest('path must be a regular expression');
  }
  return body;
}
