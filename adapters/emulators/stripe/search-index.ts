import type { Clock } from './clock.ts';
import type { SearchDoc } from './search-query.ts';

interface PendingChange {
  visibleAtMs: number;
  id: string;
  doc: SearchDoc | null;
}

/**
 * Stripe's search is eventually consistent: a change becomes searchable only after a lag. Changes
 * wait in a FIFO and are folded into the index when a search looks, so writes stay O(1).
 */
export class SearchIndex {
  private readonly docs = new Map<string, SearchDoc>();
  private queue: PendingChange[] = [];
  private head = 0;

  constructor(
    private readonly clock: Clock,
    public lagMs: number,
  ) {}

  upsert(id: string, doc: SearchDoc): void {
    this.enqueue(id, doc);
  }

  remove(id: string): void {
    this.enqueue(id, null);
  }

  clear(): void {
    this.docs.clear();
    this.queue = [];
    this.head = 0;
  }

  /** The indexed document for an id, after applying every change whose lag has passed. */
  lookup(id: string): SearchDoc | undefined {
    return this.docs.get(id);
  }

  catchUp(): void {
    const now = this.clock.nowMs();
    while (this.head < this.queue.length && this.queue[this.head]!.visibleAtMs <= now) {
      this.apply(this.queue[this.head]!);
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private enqueue(id: string, doc: SearchDoc | null): void {
    // Folding in what is due on every write keeps the queue as short as the lag, searched or not.
    this.catchUp();
    const change = { visibleAtMs: this.clock.nowMs() + this.lagMs, id, doc };
    if (this.lagMs <= 0 && this.head === this.queue.length) this.apply(change);
    else this.queue.push(change);
  }

  private apply(change: PendingChange): void {
    if (change.doc === null) this.docs.delete(change.id);
    else this.docs.set(change.id, change.doc);
  }
}
