// Reading what changed in Salesforce by polling: the records of the configured sObject that carry
// our external id and whose `SystemModstamp` is at or after a time (one SOQL query, in pages of up
// to 2,000: one API call a page), and the records deleted in a window (`getDeleted`, one call).
// Each record comes back with the fields that flow from Salesforce, those that only flow to it,
// who changed it last and when, so that the customer's actor can tell our echo from an edit. The
// records without our external id (created in Salesforce) are read the same way, to import.
import type { Connection } from 'jsforce';
import type { CanonicalFields } from '../../core/canonical.ts';
import { patchOfFields, type FieldPatch } from '../../core/policy/push.ts';
import { fieldsOfRecord, inboundSources, outboundSources } from './mapper.ts';
import {
  MalformedReadBackRecord,
  readRecord,
  selectedFields,
  type SalesforceReadRecord,
} from './read-back.ts';
import { fieldMapOf, type SalesforceTarget } from './target.ts';

export interface ChangedRecord {
  /** The record's 18-character Salesforce id. */
  readonly salesforceId: string;
  /** Our customer id, from the external-id field. */
  readonly externalId: string;
  /** Its values of the fields that flow from Salesforce (`both`, `from_salesforce`). */
  readonly fields: FieldPatch;
  /** Its values of the fields that only flow to Salesforce: put back, never taken. */
  readonly putBack: FieldPatch;
  readonly lastModifiedById: string | null;
  /** `SystemModstamp`, in ms. */
  readonly modifiedAt: number;
  /** `CreatedDate`, in ms, where the query selected it (a read of changes does). */
  readonly createdAt?: number;
}

export interface DeletedRecord {
  readonly salesforceId: string;
  readonly deletedAt: number;
}

/** A SOQL datetime literal: whole seconds, UTC. */
export function soqlDateTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** Records with our external id (ours), or without it (born in Salesforce), changed since. */
export function changesSoql(target: SalesforceTarget, sinceMs: number, born = false): string {
  // CreatedDate tells a record our pending create made from an older one (see `landedCreate`).
  const fields = selectedFields(target, born ? [] : ['CreatedDate']);
  const ours = `${target.externalIdField} ${born ? '=' : '!='} null`;
  return `SELECT ${fields.join(', ')} FROM ${target.object} WHERE ${ours} AND SystemModstamp >= ${soqlDateTime(sinceMs)} ORDER BY SystemModstamp, Id`;
}

/** The records changed since `sinceMs`, page by page, oldest change first. */
export function readChangesSince(
  conn: Connection,
  target: SalesforceTarget,
  sinceMs: number,
): AsyncGenerator<ChangedRecord[], void, undefined> {
  return pages(conn, changesSoql(target, sinceMs), (row) => changedRecord(target, row));
}

/** A record created in Salesforce without our external id. */
export interface BornRecord {
  readonly salesforceId: string;
  /** Its values of the fields that flow from Salesforce (`both`, `from_salesforce`). */
  readonly fields: FieldPatch;
  /** Its values of the fields that only flow to Salesforce. */
  readonly putBack: FieldPatch;
  /** Its mapped email, to match it by. */
  readonly email: string | null;
  readonly modifiedAt: number;
}

/** The records without our external id changed since `sinceMs`, page by page. */
export function readBornSince(
  conn: Connection,
  target: SalesforceTarget,
  sinceMs: number,
): AsyncGenerator<BornRecord[], void, undefined> {
  return pages(conn, changesSoql(target, sinceMs, true), (row) => bornRecord(target, row));
}

async function* pages<T>(
  conn: Connection,
  soql: string,
  read: (row: Record<string, unknown>) => T | undefined,
): AsyncGenerator<T[], void, undefined> {
  const headers = { 'Sforce-Query-Options': 'batchSize=2000' };
  let result = await conn.query<Record<string, unknown>>(soql, { headers });
  for (;;) {
    yield result.records.flatMap((row) => read(row) ?? []);
    if (result.done || !result.nextRecordsUrl) return;
    result = await conn.queryMore(result.nextRecordsUrl);
  }
}

function bornRecord(
  target: SalesforceTarget,
  row: Record<string, unknown>,
): BornRecord | undefined {
  const { Id, SystemModstamp } = row;
  if (typeof Id !== 'string' || typeof SystemModstamp !== 'string') return undefined;
  const values = fieldsOfRecord(fieldMapOf(target), row);
  return {
    salesforceId: Id,
    ...flowingPatches(target, values),
    email: values.email,
    modifiedAt: modstampMs(SystemModstamp),
  };
}

/** The records deleted in `[startMs, endMs)`; Salesforce counts whole minutes and keeps 15 days. */
export async function deletedBetween(
  conn: Connection,
  target: SalesforceTarget,
  startMs: number,
  endMs: number,
): Promise<DeletedRecord[]> {
  const result = await conn.sobject(target.object).deleted(new Date(startMs), new Date(endMs));
  return (result.deletedRecords ?? []).map((r) => ({
    salesforceId: r.id,
    deletedAt: Date.parse(r.deletedDate),
  }));
}

function changedRecord(
  target: SalesforceTarget,
  row: Record<string, unknown>,
): ChangedRecord | undefined {
  let r: SalesforceReadRecord;
  try {
    r = readRecord(target, row);
  } catch (err) {
    // A row without the fields selected: left out, as Salesforce broke its contract for it alone.
    if (err instanceof MalformedReadBackRecord) return undefined;
    throw err;
  }
  return asChanged(target, r);
}

/** A record read (by a read-back, say) as a change: its fields split by direction. */
export function asChanged(target: SalesforceTarget, r: SalesforceReadRecord): ChangedRecord {
  return {
    salesforceId: r.salesforceId,
    externalId: r.externalId,
    ...flowingPatches(target, r.fields),
    lastModifiedById: r.lastModifiedById,
    modifiedAt: modstampMs(r.systemModstamp),
    ...(r.createdDate === undefined ? {} : { createdAt: modstampMs(r.createdDate) }),
  };
}

/** A record's canonical values, split: those that flow from Salesforce, and those put back. */
export function flowingPatches(
  target: SalesforceTarget,
  fields: CanonicalFields,
): { fields: FieldPatch; putBack: FieldPatch } {
  const map = fieldMapOf(target);
  const inbound = inboundSources(map);
  const onlyOut = outboundSources(map).filter((f) => !inbound.includes(f));
  return { fields: patchOfFields(fields, inbound), putBack: patchOfFields(fields, onlyOut) };
}

/** `2026-01-01T00:00:00.000+0000`, as Salesforce writes a datetime, in ms. */
export function modstampMs(value: string): number {
  return Date.parse(value.replace(/\+0000$/, 'Z'));
}
