// Reading Salesforce back, for drift repair: every record of the configured sObject that carries
// our external id, through one SOQL query read in Salesforce's pages of up to 2,000 records (one
// API call a page: the query, then `queryMore` on each `nextRecordsUrl`). Each record comes back
// in canonical fields, with who changed it last, so a caller can tell a person's edit from ours.
import type { Connection } from 'jsforce';
import type { CanonicalFields } from '../../core/canonical.ts';
import { fieldsOfRecord, mappedFieldNames } from './mapper.ts';
import type { Clock, SalesforceTarget } from './target.ts';
import { fieldMapOf } from './target.ts';

/** One Salesforce record that carries our customer id. */
export interface SalesforceReadRecord {
  /** Our customer id, from the external-id field. */
  readonly externalId: string;
  /** The record's 18-character Salesforce id. */
  readonly salesforceId: string;
  readonly fields: CanonicalFields;
  /** Who changed it last: the integration user for rtws's own writes, or whoever deleted it. */
  readonly lastModifiedById: string | null;
  /** Salesforce's own change time (`2026-01-01T00:00:00.000+0000`), system updates included. */
  readonly systemModstamp: string;
  /** `CreatedDate`, where the query selected it. */
  readonly createdDate?: string;
  /** In the recycle bin; only ever true with `includeDeleted`. */
  readonly deleted: boolean;
}

/** One page of the query: at most 2,000 records. */
export interface SalesforceReadPage {
  readonly records: readonly SalesforceReadRecord[];
  /** When the page arrived: the time its records were observed. */
  readonly readAt: number;
  /** When the query was sent, before any of its pages: no record it reads was read earlier. */
  readonly queriedAt: number;
  /** 0 for the query's own response, then 1, 2, … for each `queryMore`. */
  readonly page: number;
  /** Records the whole query matches, as Salesforce counts them when the query runs. */
  readonly totalSize: number;
  readonly done: boolean;
}

export interface ReadBackOptions {
  /**
   * Also read the recycle bin (`/queryAll`), so that a record deleted in Salesforce shows as
   * deleted rather than absent. Deleted records stay there 15 days, and cost pages of their own.
   */
  readonly includeDeleted?: boolean;
  /** Rows per page, which Salesforce clamps to 200..2,000 and may lower for wide rows. Default 2,000. */
  readonly batchSize?: number;
  readonly clock?: Clock;
  /** Resume after this record id (the query is in `Id` order). */
  readonly afterId?: string;
}

/** A row the query returned without the fields it selected: Salesforce broke its contract. */
export class MalformedReadBackRecord extends Error {
  readonly code = 'SALESFORCE_READ_BACK_MALFORMED';

  constructor(detail: string) {
    super(`a Salesforce read-back row ${detail}`);
    this.name = 'MalformedReadBackRecord';
  }
}

// API names come from validated config; checked again here because they are spliced into SOQL.
const API_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/** A Salesforce record id: 15 or 18 letters and digits. */
const RECORD_ID = /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/;

/**
 * What a read of records selects: the id, our external id, the mapped fields, who changed the
 * record last and when, and `extra`; each checked as an API name (they are spliced into SOQL),
 * and each once, as Salesforce rejects a field selected twice (names ignore case).
 */
export function selectedFields(target: SalesforceTarget, extra: readonly string[] = []): string[] {
  const wanted = [
    'Id',
    target.externalIdField,
    ...mappedFieldNames(fieldMapOf(target)),
    'LastModifiedById',
    'SystemModstamp',
    ...extra,
  ];
  for (const name of [target.object, ...wanted])
    if (!API_NAME.test(name)) throw new Error(`not a Salesforce API name: ${name}`);
  const seen = new Set<string>();
  return wanted.filter((f) => !seen.has(f.toLowerCase()) && seen.add(f.toLowerCase()));
}

/**
 * The one query a read-back runs, in `Id` order; `afterId` resumes after a record already read
 * (Salesforce's own order, so that a record never slides into a page already done).
 */
export function readBackSoql(
  target: SalesforceTarget,
  includeDeleted = false,
  afterId?: string,
): string {
  const fields = selectedFields(target, includeDeleted ? ['IsDeleted'] : []);
  if (afterId !== undefined && !RECORD_ID.test(afterId))
    throw new Error(`not a Salesforce record id: ${afterId}`);
  const after = afterId === undefined ? '' : ` AND Id > '${afterId}'`;
  return `SELECT ${fields.join(', ')} FROM ${target.object} WHERE ${target.externalIdField} != null${after} ORDER BY Id`;
}

/**
 * These records by id, the recycle bin included: whether each still exists, was deleted, or is
 * gone for good (absent). One call per 200 ids.
 */
export async function recordsById(
  conn: Connection,
  target: SalesforceTarget,
  ids: readonly string[],
): Promise<Map<string, { deleted: boolean; externalId: string | null }>> {
  for (const name of [target.object, target.externalIdField])
    if (!API_NAME.test(name)) throw new Error(`not a Salesforce API name: ${name}`);
  const out = new Map<string, { deleted: boolean; externalId: string | null }>();
  for (let i = 0; i < ids.length; i += 200) {
    const batch = ids.slice(i, i + 200);
    for (const id of batch)
      if (!RECORD_ID.test(id)) throw new Error(`not a Salesforce record id: ${id}`);
    const soql = `SELECT Id, IsDeleted, ${target.externalIdField} FROM ${target.object} WHERE Id IN (${batch.map((id) => `'${id}'`).join(', ')})`;
    const result = await conn.query<Record<string, unknown>>(soql, { scanAll: true });
    for (const row of result.records) {
      const ext = row[target.externalIdField];
      out.set(String(row.Id), {
        deleted: row.IsDeleted === true,
        externalId: typeof ext === 'string' ? ext : null,
      });
    }
  }
  return out;
}

/**
 * Every record carrying our external id, page by page. Reading N records costs ⌈N/2,000⌉ API
 * calls (one when there are none). A page is only fetched once the previous one was consumed;
 * Salesforce drops an idle query locator after about 15 minutes (`INVALID_QUERY_LOCATOR`), and
 * the read then has to start again.
 */
export async function* readSalesforceRecords(
  conn: Connection,
  target: SalesforceTarget,
  options: ReadBackOptions = {},
): AsyncGenerator<SalesforceReadPage, void, undefined> {
  const clock = options.clock ?? Date.now;
  const headers = { 'Sforce-Query-Options': `batchSize=${options.batchSize ?? 2000}` };
  const soql = readBackSoql(target, options.includeDeleted, options.afterId);
  const queriedAt = clock();
  let result = await conn.query(soql, { headers, scanAll: options.includeDeleted ?? false });
  for (let page = 0; ; page++) {
    const readAt = clock();
    const records = result.records.map((row) => readRecord(target, row));
    const done = result.done || !result.nextRecordsUrl;
    yield { records, readAt, queriedAt, page, totalSize: result.totalSize, done };
    if (done) return;
    // The locator keeps the batch size and the recycle-bin scope of the query that made it.
    result = await conn.queryMore(result.nextRecordsUrl!);
  }
}

/** One row of a read, as a record; a row without the fields selected throws. */
export function readRecord(
  target: SalesforceTarget,
  row: Record<string, unknown>,
): SalesforceReadRecord {
  const { Id, SystemModstamp, LastModifiedById, CreatedDate } = row;
  const externalId = row[target.externalIdField];
  if (
    typeof Id !== 'string' ||
    typeof externalId !== 'string' ||
    typeof SystemModstamp !== 'string'
  )
    throw new MalformedReadBackRecord(`lacks Id, ${target.externalIdField} or SystemModstamp`);
  return {
    externalId,
    salesforceId: Id,
    fields: fieldsOfRecord(fieldMapOf(target), row),
    lastModifiedById: typeof LastModifiedById === 'string' ? LastModifiedById : null,
    systemModstamp: SystemModstamp,
    ...(typeof CreatedDate === 'string' ? { createdDate: CreatedDate } : {}),
    deleted: row.IsDeleted === true,
  };
}

/** Our customers with no live record in Salesforce. */
export interface AbsentCustomers {
  /** No record at all: never made, deleted without `includeDeleted`, or purged from the bin. */
  readonly missing: string[];
  /** In the recycle bin (read with `includeDeleted`): the latest deleted record of each. */
  readonly deleted: SalesforceReadRecord[];
}

/**
 * What a read-back saw, added page by page, so that once every page is in it can say which of
 * our customers have no live record. Holds one id per record read.
 */
export class ReadBackTally {
  private readonly live = new Set<string>();
  private readonly binned = new Map<string, SalesforceReadRecord>();

  add(page: SalesforceReadPage): void {
    for (const record of page.records) {
      if (!record.deleted) this.live.add(record.externalId);
      else if ((this.binned.get(record.externalId)?.systemModstamp ?? '') < record.systemModstamp)
        this.binned.set(record.externalId, record);
    }
  }

  /** Of `customerIds`, those with no live record; a recreated record counts as live. */
  absent(customerIds: Iterable<string>): AbsentCustomers {
    const missing: string[] = [];
    const deleted: SalesforceReadRecord[] = [];
    for (const id of customerIds) {
      if (this.live.has(id)) continue;
      const binned = this.binned.get(id);
      if (binned) deleted.push(binned);
      else missing.push(id);
    }
    return { missing, deleted };
  }
}

/**
 * The integration user's id, to tell rtws's own writes (`lastModifiedById` equal to it) from a
 * person's. The token response names it, so this costs no call unless the session lacks it.
 */
export async function integrationUserId(conn: Connection): Promise<string> {
  const known = conn.userInfo?.id;
  if (known) return known;
  return (await conn.identity()).user_id;
}
