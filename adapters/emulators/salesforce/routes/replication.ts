// `GET /sobjects/{type}/updated` and `/deleted`: the ids changed or deleted in a window, for
// replication by polling. Both drop the seconds of `start` and `end`, need `start` before `end`,
// and reach back 30 days (updated) or as far as the delete log still goes (deleted, 15 days).
import type { DeleteLog } from '../delete-log.ts';
import { floorMinute } from '../delete-log.ts';
import { formatDatetime } from '../datetime.ts';
import { SalesforceApiError } from '../errors.ts';
import type { Reply } from '../http.ts';
import type { ObjectDef } from '../schema.ts';
import type { RestRequest } from '../state.ts';
import type { RecordStore } from '../store.ts';
import type { Route } from './route.ts';
import { methodNotAllowed } from './route.ts';

const UPDATED_REACH_MS = 30 * 24 * 60 * 60 * 1000;
const MAX_IDS = 600_000;

export function replicationRoute(
  req: RestRequest,
  object: ObjectDef,
  kind: 'updated' | 'deleted',
): Route {
  if (req.method !== 'GET') return methodNotAllowed(req.method, 'GET,HEAD');
  return kind === 'updated'
    ? { name: 'sobject.updated', run: (r, s) => updatedReply(r, s.store, object) }
    : { name: 'sobject.deleted', run: (r, s) => deletedReply(r, s.deleteLog, object) };
}

interface Window {
  readonly start: number;
  readonly end: number;
  /** The end, or now when the end is still to come: later changes may yet land before it. */
  readonly latestDateCovered: number;
}

function updatedReply(r: RestRequest, store: RecordStore, object: ObjectDef): Reply {
  const now = Date.now();
  const window = readWindow(r, now);
  if (window.start < floorMinute(now - UPDATED_REACH_MS))
    throw invalidDate('start date is more than 30 days before the current date');
  const ids: string[] = [];
  for (const record of store.records(object)) {
    if (record.fields.IsDeleted === true) continue;
    if (within(window, Date.parse(String(record.fields.SystemModstamp))))
      ids.push(String(record.fields.Id));
  }
  checkCount(ids.length);
  return {
    status: 200,
    body: { ids, latestDateCovered: formatDatetime(window.latestDateCovered) },
  };
}

function deletedReply(r: RestRequest, log: DeleteLog, object: ObjectDef): Reply {
  const now = Date.now();
  const window = readWindow(r, now);
  const earliest = log.earliestAvailable(object, now);
  if (window.start < earliest)
    throw invalidDate(
      `start date is before earliestDateAvailable ${formatDatetime(earliest)}: deletions before it are no longer in the delete log`,
    );
  const deletedRecords = [...log.deletions(object)]
    .filter((d) => within(window, d.deletedAt))
    .map((d) => ({ id: d.id, deletedDate: d.deletedDate }));
  checkCount(deletedRecords.length);
  return {
    status: 200,
    body: {
      deletedRecords,
      earliestDateAvailable: formatDatetime(earliest),
      latestDateCovered: formatDatetime(window.latestDateCovered),
    },
  };
}

function readWindow(r: RestRequest, now: number): Window {
  const rawStart = r.query.get('start');
  const rawEnd = r.query.get('end');
  if (!rawStart || !rawEnd)
    throw new SalesforceApiError(
      400,
      'MISSING_ARGUMENT',
      'Both start and end parameters are required',
    );
  const start = floorMinute(parseDate(rawStart, 'start'));
  const end = floorMinute(parseDate(rawEnd, 'end'));
  if (start >= end)
    throw invalidDate('startDate must chronologically precede endDate by at least a minute');
  return { start, end, latestDateCovered: Math.min(end, floorMinute(now)) };
}

function parseDate(raw: string, name: string): number {
  const ms = Date.parse(raw);
  if (Number.isNaN(ms)) throw invalidDate(`${name} is not a valid dateTime: ${raw}`);
  return ms;
}

const within = (window: Window, at: number): boolean => at >= window.start && at < window.end;

function checkCount(count: number): void {
  if (count > MAX_IDS)
    throw new SalesforceApiError(
      400,
      'EXCEEDED_ID_LIMIT',
      `More than ${MAX_IDS} ids found; choose start and end dates closer together`,
    );
}

const invalidDate = (message: string): SalesforceApiError =>
  new SalesforceApiError(400, 'INVALID_REPLICATION_DATE', message);
