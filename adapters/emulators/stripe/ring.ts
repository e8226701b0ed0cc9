/** A bounded log keeping the most recent entries, oldest first when listed. */
export class Ring<T> {
  private entries: T[] = [];
  private next = 0;

  constructor(private readonly capacity: number) {}

  add(entry: T): void {
    if (this.entries.length < this.capacity) this.entries.push(entry);
    else this.entries[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
  }

  list(): T[] {
    if (this.entries.length < this.capacity) return [...this.entries];
    return [...this.entries.slice(this.next), ...this.entries.slice(0, this.next)];
  }

  clear(): void {
    this.entries = [];
    this.next = 0;
  }
}
