// The event bus Change Data Capture publishes to: every event of the org gets the next replay id,
// and stays retained for a while (72 hours by default) so that a subscriber can replay it.
// Subscribers are woken on each publish.

/** One retained change event. */
export interface ChangeEvent {
  readonly replayId: number;
  readonly entityName: string;
  /** Epoch milliseconds of the publish; retention counts from here. */
  readonly publishedAt: number;
  readonly schema: string;
  readonly payload: Record<string, unknown>;
}

/** What a new event carries before the bus numbers it. */
export type EventDraft = Pick<ChangeEvent, 'entityName' | 'schema' | 'payload'>;

/** What persistence saves and restores. */
export interface BusSnapshot {
  readonly nextReplayId: number;
  readonly nextCommitNumber: number;
  readonly events: readonly ChangeEvent[];
}

export class EventBus {
  private events: ChangeEvent[] = [];
  private nextReplayId: number;
  private commitNumber: number;
  private readonly listeners: (() => void)[] = [];

  constructor(
    private retentionMs: number,
    private readonly onChange: () => void,
    first: { replayId: number; commitNumber: number },
  ) {
    this.nextReplayId = first.replayId;
    this.commitNumber = first.commitNumber;
  }

  onPublish(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** The next system change number, one per committed transaction. */
  nextCommit(): number {
    return this.commitNumber++;
  }

  publish(drafts: readonly EventDraft[], now = Date.now()): ChangeEvent[] {
    this.expire(now);
    const published = drafts.map((d) => ({
      ...d,
      replayId: this.nextReplayId++,
      publishedAt: now,
    }));
    this.events.push(...published);
    this.onChange();
    for (const listener of this.listeners) listener();
    return published;
  }

  /** The replay id of the newest event ever published (retained or not); 0 before the first. */
  latestReplayId(): number {
    return this.nextReplayId - 1;
  }

  retained(now = Date.now()): readonly ChangeEvent[] {
    this.expire(now);
    return this.events;
  }

  /** Whether a subscriber may resume after this id: it must name an event still retained. */
  isRetained(replayId: number, now = Date.now()): boolean {
    this.expire(now);
    return this.events[this.indexAfter(replayId - 1)]?.replayId === replayId;
  }

  /**
   * Retained events with a replay id above `replayId`, oldest first. Lazy, so that a subscriber
   * that is nearly caught up costs a lookup, not a copy of the whole retention.
   */
  *after(replayId: number, now = Date.now()): Generator<ChangeEvent> {
    this.expire(now);
    const events = this.events;
    for (let i = this.indexAfter(replayId); i < events.length; i++) yield events[i]!;
  }

  /** Drops every retained event, or those up to and including `upTo`; returns how many. */
  forget(upTo?: number): number {
    const keepFrom = upTo === undefined ? this.events.length : this.indexAfter(upTo);
    this.events = this.events.slice(keepFrom);
    if (keepFrom > 0) this.onChange();
    return keepFrom;
  }

  setRetention(ms: number): void {
    this.retentionMs = ms;
  }

  snapshot(): BusSnapshot {
    return {
      nextReplayId: this.nextReplayId,
      nextCommitNumber: this.commitNumber,
      events: this.events,
    };
  }

  load(snapshot: BusSnapshot): void {
    this.nextReplayId = snapshot.nextReplayId;
    this.commitNumber = snapshot.nextCommitNumber;
    this.events = [...snapshot.events];
  }

  private expire(now: number): void {
    const cutoff = now - this.retentionMs;
    let drop = 0;
    while (drop < this.events.length && this.events[drop]!.publishedAt < cutoff) drop++;
    if (drop === 0) return;
    this.events = this.events.slice(drop);
    this.onChange();
  }

  /** The index of the first event with a replay id above `replayId`. */
  private indexAfter(replayId: number): number {
    let low = 0;
    let high = this.events.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.events[mid]!.replayId <= replayId) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
