// Runs the items of an sObject Collections request. Each item succeeds or fails on its own; with
// allOrNone, one failure undoes every write and the items that had succeeded report a rollback.
import { SalesforceApiError } from '../errors.ts';
import type { RecordStore } from '../store.ts';

/** One per-item result, as Salesforce renders it. */
export interface ItemResult {
  id?: string;
  success: boolean;
  errors: ReturnType<SalesforceApiError['toCollection']>[];
  created?: boolean;
}

const MAX_ITEMS = 200;

const ROLLED_BACK = new SalesforceApiError(
  400,
  'ALL_OR_NONE_OPERATION_ROLLED_BACK',
  'Record rolled back because not all records were valid and the request was using AllOrNone header',
);

class Rollback extends Error {}

export function checkBatchSize(count: number): void {
  if (count > MAX_ITEMS) {
    throw new SalesforceApiError(
      400,
      'EXCEEDED_ID_LIMIT',
      `record limit reached. cannot submit more than ${MAX_ITEMS} records into this call`,
    );
  }
}

/**
 * `op` returns the success result or throws a SalesforceApiError; `failedId` gives the id a failed
 * item still reports (updates and deletes name their record; creates have none).
 */
export function runBatch<T>(
  store: RecordStore,
  items: readonly T[],
  allOrNone: boolean,
  op: (item: T) => ItemResult,
  failedId: (item: T) => string | undefined,
): ItemResult[] {
  checkBatchSize(items.length);
  const runAll = (): ItemResult[] => items.map((item) => runOne(store, item, op, failedId));
  if (!allOrNone) return runAll();
  let results: ItemResult[] = [];
  try {
    store.transaction(() => {
      results = runAll();
      if (results.some((r) => !r.success)) throw new Rollback();
    });
    return results;
  } catch (err) {
    if (!(err instanceof Rollback)) throw err;
    return results.map((r, i) => (r.success ? rolledBack(failedId(items[i]!)) : r));
  }
}

function runOne<T>(
  store: RecordStore,
  item: T,
  op: (item: T) => ItemResult,
  failedId: (item: T) => string | undefined,
): ItemResult {
  try {
    return store.transaction(() => op(item));
  } catch (err) {
    if (!(err instanceof SalesforceApiError)) throw err;
    const id = failedId(item);
    return { ...(id ? { id } : {}), success: false, errors: [err.toCollection()] };
  }
}

function rolledBack(id: string | undefined): ItemResult {
  return { ...(id ? { id } : {}), success: false, errors: [ROLLED_BACK.toCollection()] };
}
