import { resourceMissing } from './errors.ts';

export interface Identified {
  readonly id: string;
}

/** One page of a list, newest first. */
export interface Page<T> {
  data: T[];
  hasMore: boolean;
}

export interface PageRequest {
  limit: number;
  startingAfter?: string | undefined;
  endingBefore?: string | undefined;
}

/**
 * Objects in insertion order with O(1) lookup by id. Stripe lists newest first and pages by
 * object id, so each id remembers its position; removed objects leave a hole that is compacted
 * away in bulk rather than shifting the array on every delete.
 */
export class Collection<T extends Identified> {
  private slots: (T | undefined)[] = [];
  private base = 0;
  private head = 0;
  private readonly positions = new Map<string, number>();

  constructor(private readonly kind: string) {}

  get size(): number {
    return this.positions.size;
  }

  get(id: string): T | undefined {
    const at = this.positions.get(id);
    return at === undefined ? undefined : this.slots[at - this.base];
  }

  /** Replaces an existing object in place (its position is kept) or appends a new one. */
  put(value: T): void {
    const at = this.positions.get(value.id);
    if (at !== undefined) {
      this.slots[at - this.base] = value;
      return;
    }
    this.positions.set(value.id, this.base + this.slots.length);
    this.slots.push(value);
  }

  remove(id: string): void {
    const at = this.positions.get(id);
    if (at === undefined) return;
    this.slots[at - this.base] = undefined;
    this.positions.delete(id);
    this.compactIfSparse();
  }

  /** Drops the oldest objects until at most `max` remain (bounded retention). */
  trimTo(max: number): void {
    while (this.positions.size > max && this.head < this.slots.length) {
      const oldest = this.slots[this.head];
      this.slots[this.head] = undefined;
      this.head++;
      if (oldest !== undefined) this.positions.delete(oldest.id);
    }
    this.compactIfSparse();
  }

  clear(): void {
    this.slots = [];
    this.base = 0;
    this.head = 0;
    this.positions.clear();
  }

  /** Oldest first, for snapshots. */
  values(): T[] {
    return this.slots.filter((v): v is T => v !== undefined);
  }

  *newestFirst(): Generator<T> {
    for (let i = this.slots.length - 1; i >= 0; i--) {
      const value = this.slots[i];
      if (value !== undefined) yield value;
    }
  }

  page(request: PageRequest, keep: (value: T) => boolean = () => true): Page<T> {
    if (request.endingBefore !== undefined)
      return this.pageBefore(request.endingBefore, request.limit, keep);
    const start =
      request.startingAfter === undefined
        ? this.slots.length - 1
        : this.indexOf(request.startingAfter, 'starting_after') - 1;
    const data: T[] = [];
    for (let i = start; i >= 0; i--) {
      const value = this.slots[i];
      if (value === undefined || !keep(value)) continue;
      if (data.length === request.limit) return { data, hasMore: true };
      data.push(value);
    }
    return { data, hasMore: false };
  }

  private pageBefore(id: string, limit: number, keep: (value: T) => boolean): Page<T> {
    const data: T[] = [];
    for (let i = this.indexOf(id, 'ending_before') + 1; i < this.slots.length; i++) {
      const value = this.slots[i];
      if (value === undefined || !keep(value)) continue;
      if (data.length === limit) return { data: data.reverse(), hasMore: true };
      data.push(value);
    }
    return { data: data.reverse(), hasMore: false };
  }

  private indexOf(id: string, param: string): number {
    const at = this.positions.get(id);
    if (at === undefined) throw resourceMissing(this.kind, id, param, 400);
    return at - this.base;
  }

  private compactIfSparse(): void {
    const holes = this.slots.length - this.positions.size;
    if (holes < 1024 || holes < this.slots.length / 2) return;
    const live = this.values();
    this.base += this.slots.length;
    this.slots = live;
    this.head = 0;
    live.forEach((value, i) => this.positions.set(value.id, this.base + i));
  }
}
