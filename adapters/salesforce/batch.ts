// Many customers' pending intents in few calls. Salesforce's budget is about 100,000 calls a day,
// so pending creates go through the sObject Collections upsert (by our external id), updates
// through the Collections update (by Salesforce id) and deletes through the Collections delete, up
// to 200 records a call; each record succeeds or fails on its own (allOrNone off), and each intent
// gets its own outcome.
import type { Connection } from 'jsforce';
import type { SalesforceOutcomeEvent } from '../../actors/customer/index.ts';
import { classifyCode, classifySalesforceError } from './classify.ts';
import {
  executeSalesforceIntent,
  racedOnOurId,
  upsertRecord,
  upsertedOutcome,
} from './executor.ts';
import type { SalesforceValues } from './mapper.ts';
import { failedOutcome, type Clock, type SalesforceTarget, type SalesforceWork } from './target.ts';

/** Salesforce's limit on records per collections request. */
export const MAX_COLLECTION_RECORDS = 200;

interface ItemResult {
  id?: string | null;
  success: boolean;
  errors?: readonly { statusCode?: string; errorCode?: string; message?: string }[];
}

interface Upsert {
  readonly work: SalesforceWork;
  readonly record: SalesforceValues;
}

interface Update {
  readonly work: SalesforceWork;
  readonly record: SalesforceValues & { Id: string };
}

type Outcomes = [SalesforceWork, SalesforceOutcomeEvent][];

/** Whether the work is a write a collections request can carry: an upsert or a delete. */
export function isCollectable(target: SalesforceTarget, work: SalesforceWork): boolean {
  if (work.intent.type === 'DeleteSalesforceAccount') return true;
  const record = upsertRecord(target, work);
  return record !== null && Object.keys(record).length > 0;
}

/**
 * One outcome per work item, in the items' order. Upserts and deletes are sent in collections of
 * up to 200 (a lone one as the plain single-record call, which costs the same); lookups and
 * updates that change nothing Salesforce holds go one by one. The items must be for distinct
 * customers (each customer has one pending intent per target).
 */
export async function executeSalesforceBatch(
  conn: Connection,
  items: readonly SalesforceWork[],
  target: SalesforceTarget,
  now: Clock = Date.now,
): Promise<SalesforceOutcomeEvent[]> {
  const upserts: Upsert[] = [];
  const updates: Update[] = [];
  const deletes: SalesforceWork[] = [];
  const singles: SalesforceWork[] = [];
  for (const work of items) {
    const { intent } = work;
    const record = upsertRecord(target, work);
    if (record !== null && Object.keys(record).length > 0) {
      if (intent.type === 'UpdateSalesforceAccount')
        updates.push({ work, record: { ...record, Id: intent.params.externalId } });
      else upserts.push({ work, record });
    } else if (intent.type === 'DeleteSalesforceAccount') deletes.push(work);
    else singles.push(work);
  }
  // One request at a time, so that a caller bounds its requests in flight by its calls.
  const outcomes = new Map<SalesforceWork, SalesforceOutcomeEvent>();
  const keep = (done: Outcomes) => {
    for (const [work, outcome] of done) outcomes.set(work, outcome);
  };
  const options = { allOrNone: false };
  for (let i = 0; i < upserts.length; i += MAX_COLLECTION_RECORDS)
    keep(
      await writeChunk(conn, upserts.slice(i, i + MAX_COLLECTION_RECORDS), target, now, (r) =>
        conn.upsert(target.object, r, target.externalIdField, options),
      ),
    );
  for (let i = 0; i < updates.length; i += MAX_COLLECTION_RECORDS)
    keep(
      await writeChunk(conn, updates.slice(i, i + MAX_COLLECTION_RECORDS), target, now, (r) =>
        conn.update(target.object, r, options),
      ),
    );
  for (let i = 0; i < deletes.length; i += MAX_COLLECTION_RECORDS)
    keep(await deleteChunk(conn, deletes.slice(i, i + MAX_COLLECTION_RECORDS), target, now));
  for (const work of singles)
    outcomes.set(work, await executeSalesforceIntent(conn, work, target, now));
  return items.map((work) => outcomes.get(work)!);
}

/** Creates (upserts by our id) or updates (by Salesforce id) of a chunk, in one collections call. */
async function writeChunk<W extends Upsert>(
  conn: Connection,
  chunk: readonly W[],
  target: SalesforceTarget,
  now: Clock,
  send: (records: W['record'][]) => Promise<readonly ItemResult[]>,
): Promise<Outcomes> {
  if (chunk.length === 1) return alone(conn, chunk[0]!.work, target, now);
  const results = await collectionCall(() => send(chunk.map((u) => u.record)));
  return chunk.map(({ work }, i) => [
    work,
    itemOutcome(target, work, results, i, now(), (id, at) => upsertedOutcome(work.intent, id, at)),
  ]);
}

async function deleteChunk(
  conn: Connection,
  chunk: readonly SalesforceWork[],
  target: SalesforceTarget,
  now: Clock,
): Promise<Outcomes> {
  if (chunk.length === 1) return alone(conn, chunk[0]!, target, now);
  const ids = chunk.map(({ intent }) =>
    intent.type === 'DeleteSalesforceAccount' ? intent.params.externalId : '',
  );
  const results = await collectionCall(() =>
    conn.destroy(target.object, ids, { allOrNone: false }),
  );
  return chunk.map((work, i) => [
    work,
    itemOutcome(target, work, results, i, now(), (_id, at) => ({
      type: 'SalesforceAccountDeleted',
      data: { intentId: work.intent.id },
      at,
    })),
  ]);
}

async function alone(
  conn: Connection,
  work: SalesforceWork,
  target: SalesforceTarget,
  now: Clock,
): Promise<Outcomes> {
  return [[work, await executeSalesforceIntent(conn, work, target, now)]];
}

/** The per-record results, or the failure of the call as a whole (quota, session, network). */
async function collectionCall(
  call: () => Promise<readonly ItemResult[]>,
): Promise<readonly ItemResult[] | Error> {
  try {
    return await call();
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

function itemOutcome(
  target: SalesforceTarget,
  work: SalesforceWork,
  results: readonly ItemResult[] | Error,
  index: number,
  at: number,
  succeeded: (salesforceId: string, at: number) => SalesforceOutcomeEvent,
): SalesforceOutcomeEvent {
  // A failed call: every record shares its fate.
  if (results instanceof Error)
    return failedOutcome(work.intent, classifySalesforceError(results), at);
  const result = results[index];
  if (result?.success === true && typeof result.id === 'string') return succeeded(result.id, at);
  const error = result?.errors?.[0];
  const failure = result
    ? classifyCode(error?.statusCode ?? error?.errorCode, error?.message)
    : classifyCode(undefined, 'no result for this record');
  return failedOutcome(work.intent, racedOnOurId(target, work, failure), at);
}
