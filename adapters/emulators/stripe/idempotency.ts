import type { Clock } from './clock.ts';

/**
 * A finished response as it was first sent, replayed for the same key. The payload is the object
 * that was serialised; stored objects are never mutated, so it serialises the same way again.
 */
export interface SavedResponse {
  status: number;
  payload: unknown;
  headers: Record<string, string>;
  requestId: string;
}

interface KeyRecord {
  fingerprint: string;
  savedAtMs: number;
  response: SavedResponse | undefined;
}

export type KeyLookup =
  | { kind: 'new' }
  | { kind: 'in-flight' }
  | { kind: 'mismatch' }
  | { kind: 'replay'; response: SavedResponse };

/**
 * Idempotency keys as Stripe keeps them: the first completed response per key, for a bounded
 * time and count. Map insertion order is save order, so expiry and the cap both prune from the
 * front.
 */
export class IdempotencyStore {
  private readonly records = new Map<string, KeyRecord>();

  constructor(
    private readonly clock: Clock,
    public ttlMs: number,
    public maxKeys: number,
  ) {}

  get size(): number {
    return this.records.size;
  }

  /** Checks a key; a `new` answer reserves it until `save` or `release`. */
  begin(key: string, fingerprint: string): KeyLookup {
    const record = this.records.get(key);
    if (record && this.expired(record)) this.records.delete(key);
    else if (record) {
      if (record.response === undefined) return { kind: 'in-flight' };
      if (record.fingerprint !== fingerprint) return { kind: 'mismatch' };
      return { kind: 'replay', response: record.response };
    }
    this.records.set(key, { fingerprint, savedAtMs: this.clock.nowMs(), response: undefined });
    return { kind: 'new' };
  }

  save(key: string, response: SavedResponse): void {
    const record = this.records.get(key);
    if (!record) return;
    record.response = response;
    this.prune();
  }

  /** Forgets a reservation: requests that fail validation or a pre-commit fault save nothing. */
  release(key: string): void {
    const record = this.records.get(key);
    if (record && record.response === undefined) this.records.delete(key);
  }

  clear(): void {
    this.records.clear();
  }

  entries(): [string, KeyRecord][] {
    return [...this.records].filter(([, r]) => r.response !== undefined);
  }

  load(entries: [string, KeyRecord][]): void {
    for (const [key, record] of entries) this.records.set(key, record);
    this.prune();
  }

  private expired(record: KeyRecord): boolean {
    return this.clock.nowMs() - record.savedAtMs >= this.ttlMs;
  }

  private prune(): void {
    for (const [key, record] of this.records) {
      if (this.records.size <= this.maxKeys && !this.expired(record)) break;
      if (record.response !== undefined || this.records.size > this.maxKeys)
        this.records.delete(key);
    }
  }
}
