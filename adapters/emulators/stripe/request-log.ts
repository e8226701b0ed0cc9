import { Ring } from './ring.ts';

/** One API request as the emulator answered it; counting these shows how often a client retried. */
export interface RequestRecord {
  requestId: string;
  method: string;
  path: string;
  status: number;
  idempotencyKey: string | null;
  replayed: boolean;
  fault: boolean;
  at: number;
}

export interface RequestFilter {
  method?: string;
  /** A path prefix. */
  path?: string;
}

/** The requests answered after a given one, for a reader that follows the log as it grows. */
export interface RequestsAfter {
  data: RequestRecord[];
  /**
   * True when the request named is no longer in the log (it turned over, or was cleared): `data`
   * is then the whole log, and requests in between may have gone unseen.
   */
  gap: boolean;
}

export class RequestLog {
  private readonly ring: Ring<RequestRecord>;

  constructor(capacity = 5000) {
    this.ring = new Ring(capacity);
  }

  add(record: RequestRecord): void {
    this.ring.add(record);
  }

  list(filter: RequestFilter = {}): RequestRecord[] {
    return this.ring.list().filter(matches(filter));
  }

  /**
   * The requests answered after `requestId` that match the filter, oldest first. A reader that
   * polls with the last id it saw takes only what is new, rather than the whole log each time.
   */
  after(requestId: string, filter: RequestFilter = {}): RequestsAfter {
    const all = this.ring.list();
    const at = all.findIndex((r) => r.requestId === requestId);
    return { data: all.slice(at + 1).filter(matches(filter)), gap: at < 0 };
  }

  clear(): void {
    this.ring.clear();
  }
}

function matches(filter: RequestFilter): (r: RequestRecord) => boolean {
  const method = filter.method?.toUpperCase();
  return (r) =>
    (method === undefined || r.method === method) &&
    (filter.path === undefined || r.path.startsWith(filter.path));
}
