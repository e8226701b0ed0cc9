// Query results larger than one batch are handed out in pages behind a locator, as Salesforce
// does (`nextRecordsUrl: /services/data/vNN.N/query/01g…-2000`). Rows are snapshotted when the
// query runs; only the most recent cursors are kept, bounding memory.
import { randomBytes } from 'node:crypto';
import { SalesforceApiError } from '../errors.ts';
import type { QueryRow } from './execute.ts';

/** One page of a query response, in the REST shape. */
export interface QueryPage {
  totalSize: number;
  done: boolean;
  nextRecordsUrl?: string;
  records: QueryRow[];
}

interface Cursor {
  readonly rows: QueryRow[];
  readonly endpoint: 'query' | 'queryAll';
  readonly batchSize: number;
}

const MAX_CURSORS = 50;

export class QueryCursors {
  private readonly cursors = new Map<string, Cursor>();

  constructor(private readonly defaultBatchSize: number) {}

  /**
   * The first page of a fresh result. `requestedBatchSize` comes from `Sforce-Query-Options:
   * batchSize=n`, which Salesforce clamps to 200..2000.
   */
  first(
    rows: QueryRow[],
    totalSize: number,
    version: string,
    endpoint: Cursor['endpoint'],
    requestedBatchSize?: number,
  ): QueryPage {
    const batchSize =
      requestedBatchSize === undefined
        ? this.defaultBatchSize
        : Math.min(2000, Math.max(200, requestedBatchSize));
    if (rows.length <= batchSize) return { totalSize, done: true, records: rows };
    const key = `01g${randomBytes(6).toString('hex').slice(0, 12)}`;
    this.cursors.set(key, { rows, endpoint, batchSize });
    if (this.cursors.size > MAX_CURSORS) this.cursors.delete(this.cursors.keys().next().value!);
    return this.page(key, 0, version);
  }

  /** The page a `nextRecordsUrl` locator points at. */
  next(locator: string, version: string): QueryPage {
    const match = /^(01g[0-9a-f]{12})-(\d+)$/.exec(locator);
    if (!match || !this.cursors.has(match[1]!)) {
      throw new SalesforceApiError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
    }
    return this.page(match[1]!, Number(match[2]), version);
  }

  clear(): void {
    this.cursors.clear();
  }

  private page(key: string, start: number, version: string): QueryPage {
    const cursor = this.cursors.get(key)!;
    const end = start + cursor.batchSize;
    const records = cursor.rows.slice(start, end);
    // The cursor stays until evicted, so that a page can be fetched again after a lost response.
    if (end >= cursor.rows.length) return { totalSize: cursor.rows.length, done: true, records };
    const nextRecordsUrl = `/services/data/${version}/${cursor.endpoint}/${key}-${end}`;
    return { totalSize: cursor.rows.length, done: false, nextRecordsUrl, records };
  }
}
