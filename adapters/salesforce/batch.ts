// Many customers' pending intents in few calls. Salesforce's budget is about 100,000 calls a day,
// so pending upserts go through the sObject Collections upsert, up to 200 records a call; each
// record succeeds or fails on its own (allOrNone off), and each intent gets its own outcome.
import type { Connection } from 'jsforce';
import type { SalesforceOutcomeEvent } from '../../actors/customer/index.ts';
import { classifyCode, classifySalesforceError } from './classify.ts';
import { executeSalesforceIntent, upsertRecord, upsertedOutcome } from './executor.ts';
import type { SalesforceValues } from './mapper.ts';
import { failedOutcome, type Clock, type SalesforceTarget, type SalesforceWork } from './target.ts';

/** Salesforce's limit on records per collections request. */
export const MAX_COLLECTION_RECORDS = 200;

interface ItemResult {
  id?: string;
  success: boolean;
  errors?: readonly { statusCode?: string; errorCode?: string; message?: string }[];
}

interface Upsert {
  readonly work: SalesforceWork;
  readonly record: SalesforceValues;
}

/**
 * One outcome per work item, in the items' order. Upserts are sent in collections of up to 200;
 * deletes, lookups and updates that change nothing Salesforce holds go one by one. The items must
 * be for distinct customers (each customer has one pending intent per target).
 */
export async function executeSalesforceBatch(
  conn: Connection,
  items: readonly SalesforceWork[],
  target: SalesforceTarget,
  now: Clock = Date.now,
): Promise<SalesforceOutcomeEvent[]> {
  const outcomes = new Map<SalesforceWork, SalesforceOutcomeEvent>();
  const upserts: Upsert[] = [];
  const singles: SalesforceWork[] = [];
  for (const work of items) {
    const record = upsertRecord(target, work);
    if (record !== null && Object.keys(record).length > 0) upserts.push({ work, record });
    else singles.push(work);
  }
  for (let i = 0; i < upserts.length; i += MAX_COLLECTION_RECORDS) {
    const chunk = upserts.slice(i, i + MAX_COLLECTION_RECORDS);
    for (const [work, outcome] of await upsertChunk(conn, chunk, target, now))
      outcomes.set(work, outcome);
  }
  for (const work of singles)
    outcomes.set(work, await executeSalesforceIntent(conn, work, target, now));
  return items.map((work) => outcomes.get(work)!);
}

async function upsertChunk(
  conn: Connection,
  chunk: readonly Upsert[],
  target: SalesforceTarget,
  now: Clock,
): Promise<[SalesforceWork, SalesforceOutcomeEvent][]> {
  let results: readonly ItemResult[];
  try {
    results = await conn.upsert(
      target.object,
      chunk.map((u) => u.record),
      target.externalIdField,
      { allOrNone: false },
    );
  } catch (err) {
    // The call as a whole failed (quota, session, network): every record shares its fate.
    const failure = classifySalesforceError(err);
    return chunk.map(({ work }) => [work, failedOutcome(work.intent, failure, now())]);
  }
  return chunk.map(({ work }, i) => [work, itemOutcome(work, results[i], now())]);
}

function itemOutcome(
  work: SalesforceWork,
  result: ItemResult | undefined,
  at: number,
): SalesforceOutcomeEvent {
  if (result?.success === true && typeof result.id === 'string')
    return upsertedOutcome(work.intent, result.id, at);
  const error = result?.errors?.[0];
  const failure = result
    ? classifyCode(error?.statusCode ?? error?.errorCode, error?.message)
    : classifyCode(undefined, 'no result for this record');
  return failedOutcome(work.intent, failure, at);
}
