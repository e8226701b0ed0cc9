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

export class RequestLog {
  private readonly ring: Ring<RequestRecord>;

  constructor(capacity = 5000) {
    this.ring = new Ring(capacity);
  }

  add(record: RequestRecord): void {
    this.ring.add(record);
  }

  list(filter: RequestFilter = {}): RequestRecord[] {
    const method = filter.method?.toUpperCase();
    return this.ring
      .list()
      .filter(
        (r) =>
          (method === undefined || r.method === method) &&
          (filter.path === undefined || r.path.startsWith(filter.path)),
      );
  }

  clear(): void {
    this.ring.clear();
  }
}
