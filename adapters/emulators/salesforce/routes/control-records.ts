// `/_emulator/records/{type}`: the records with every field, and changes made as a person in
// Salesforce's UI. `{ref}` is an id or `{externalIdField}/{value}`; the person is `as_user`
// (body or query) or `userId` (body), by default the emulator's person user.
import type { SalesforceEmulator } from '../api.ts';
import type { Reply } from '../http.ts';
import { isPlainObject } from '../http.ts';
import type { PersonOptions, RecordRef } from '../person.ts';
import { findObject } from '../schema.ts';
import { badRequest, noEndpoint, objectBody, optionalString } from './control-body.ts';

const RECORDS = /^\/_emulator\/records\/([A-Za-z_]+)(?:\/([^/]+)(?:\/([^/]+))?)?\/?$/;

export function recordsReply(
  method: string,
  url: URL,
  bodyText: string,
  emulator: SalesforceEmulator,
): Reply {
  const path = url.pathname;
  const match = RECORDS.exec(path);
  const type = match?.[1];
  if (!match || !type || !findObject(type)) return noEndpoint(method, path);
  const [, , first, second] = match;
  const as = (body: Record<string, unknown>): PersonOptions => personOptions(body, url);
  if (first === undefined) {
    if (method === 'GET')
      return { status: 200, body: emulator.records(type, { includeDeleted: true }) };
    if (method !== 'POST') return noEndpoint(method, path);
    const body = objectBody(bodyText);
    return { status: 201, body: emulator.createAsPerson(type, fieldsOf(body), as(body)) };
  }
  if (method === 'POST' && second === 'undelete')
    return {
      status: 200,
      body: emulator.undeleteAsPerson(type, segment(first), as(objectBody(bodyText))),
    };
  const ref: RecordRef =
    second === undefined ? segment(first) : { field: segment(first), value: segment(second) };
  if (method === 'PATCH') {
    const body = objectBody(bodyText);
    return { status: 200, body: emulator.editAsPerson(type, ref, fieldsOf(body), as(body)) };
  }
  if (method === 'DELETE')
    return { status: 200, body: emulator.deleteAsPerson(type, ref, as(objectBody(bodyText))) };
  return noEndpoint(method, path);
}

function segment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw badRequest(`malformed path segment: ${raw}`);
  }
}

function fieldsOf(body: Record<string, unknown>): Record<string, unknown> {
  if (!isPlainObject(body.fields)) throw badRequest('fields must be a JSON object');
  return body.fields;
}

function personOptions(body: Record<string, unknown>, url: URL): PersonOptions {
  const userId =
    optionalString(body, 'as_user') ??
    optionalString(body, 'userId') ??
    url.searchParams.get('as_user') ??
    undefined;
  return userId === undefined ? {} : { userId };
}
