// Runs the intents recorded in actor snapshots: at most one call in flight per customer and
// target, bounded concurrency and a request budget per target, and no call before its
// `notBefore`. The outcome of a call is recorded (as an event on the customer's subject), not
// applied here: the actor sees it in stream order, so a replay decides exactly the same.
//
// Targets are independent: each has its own slots and budget, so a slow or failing target never
// holds back another.
import type { Logger } from '../../core/ports.ts';
import type { CustomerSnapshot, Intent, TargetName } from '../customer/index.ts';
import type { RecordedEvent } from './outcome-message.ts';
import { pendingIntents } from '../customer/index.ts';

export interface TargetLimits {
  /** Calls in flight at once across all customers. */
  readonly concurrency: number;
  /** Calls started per second (the target's rate budget); unlimited when omitted. */
  readonly perSecond?: number;
}

export interface TargetExecutor {
  readonly limits: TargetLimits;
  /** Carries out one intent and reports its outcome; never rejects (a failure is an outcome). */
  execute(customerId: string, intent: Intent): Promise<RecordedEvent>;
}

export interface SchedulerDeps {
  readonly targets: Partial<Record<TargetName, TargetExecutor>>;
  /** Records an outcome durably; rejects when it could not (then it is retried). */
  readonly record: (customerId: string, event: RecordedEvent) => Promise<void>;
  /** Whether this worker may still act for the customer (its partition lease). */
  readonly holds: (customerId: string) => boolean;
  readonly now: () => number;
  readonly log: Logger;
  /** Told of every call made: its target, the outcome's type and how long it took. */
  readonly onExecuted?: (target: TargetName, outcome: RecordedEvent['type'], ms: number) => void;
}

interface Slot {
  signature: string;
  dueAt: number;
  timer?: NodeJS.Timeout;
  running?: Promise<void>;
  /** Offered while a call was running: scheduled when that call's outcome is recorded. */
  next?: Offer;
}

interface Offer {
  customerId: string;
  target: TargetName;
  intent: Intent;
  dueAt: number;
  signature: string;
}

const RECORD_RETRY_MS = [100, 250, 500, 1_000, 2_000, 5_000];
/** How long a call waits for its lease to be renewed before it is left to the next holder. */
const HOLD_WAIT_MS = 5_000;
const HOLD_POLL_MS = 100;

export class IntentScheduler {
  /** Per customer and target: the intent last scheduled or run, by id and attempt. */
  private readonly slots = new Map<string, Slot>();
  private readonly gates = new Map<TargetName, Gate>();
  private stopped = false;
  readonly counters = { executed: 0, recorded: 0, recordFailures: 0 };

  constructor(private readonly deps: SchedulerDeps) {
    for (const [target, t] of Object.entries(deps.targets) as [
      TargetName,
      { limits: TargetLimits },
    ][]) {
      this.gates.set(target, new Gate(t.limits, deps.now));
    }
  }

  /** Looks at a customer's snapshot after each step and schedules what is pending and not yet run. */
  offer(customerId: string, snapshot: CustomerSnapshot): void {
    if (this.stopped) return;
    const due = new Map(pendingIntents(snapshot).map((d) => [d.target, d]));
    for (const target of Object.keys(this.deps.targets) as TargetName[]) {
      const key = `${customerId}/${target}`;
      const d = due.get(target);
      if (d) {
        this.schedule(key, {
          customerId,
          target,
          intent: d.intent,
          dueAt: d.dueAt,
          signature: `${d.intent.id}#${d.intent.attempt}`,
        });
        continue;
      }
      // Nothing pending: the last outcome was applied, so its slot can go (memory follows the
      // customers with work, not every customer ever seen).
      const slot = this.slots.get(key);
      if (slot && !slot.running && !slot.timer && !slot.next) this.slots.delete(key);
    }
  }

  private schedule(key: string, offer: Offer): void {
    const slot = this.slots.get(key);
    // Already scheduled, running or run: its outcome is on its way to the actor. The one
    // exception is a waiting intent brought forward (a retry request on a paused target keeps
    // the intent and its attempt, only its notBefore moves).
    if (slot?.signature === offer.signature && !(slot.timer && offer.dueAt < slot.dueAt)) return;
    if (slot?.running) {
      slot.next = offer; // one call per customer and target
      return;
    }
    if (slot?.timer) clearTimeout(slot.timer);
    const next: Slot = { signature: offer.signature, dueAt: offer.dueAt };
    this.slots.set(key, next);
    next.timer = setTimeout(
      () => {
        next.timer = undefined;
        next.running = this.run(offer.customerId, offer.target, offer.intent).finally(() => {
          next.running = undefined;
          const queued = next.next;
          next.next = undefined;
          if (queued && !this.stopped) this.schedule(key, queued);
        });
      },
      Math.max(0, offer.dueAt - this.deps.now()),
    );
  }

  /** Forgets a customer (its actor was evicted or its partition lost); running calls finish. */
  forget(customerId: string): void {
    for (const [key, slot] of this.slots) {
      if (!key.startsWith(`${customerId}/`) || slot.running) continue;
      if (slot.timer) clearTimeout(slot.timer);
      this.slots.delete(key);
    }
  }

  /** Intents scheduled and waiting for their `notBefore` or a slot, per target. */
  waiting(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, slot] of this.slots) {
      if (!slot.timer && !slot.next) continue;
      const target = key.slice(key.lastIndexOf('/') + 1);
      out[target] = (out[target] ?? 0) + 1;
    }
    return out;
  }

  /** Customer-and-target slots held in memory. */
  get tracked(): number {
    return this.slots.size;
  }

  get inFlight(): number {
    let n = 0;
    for (const s of this.slots.values()) if (s.running) n++;
    return n;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // Calls queued behind a slot or the rate budget would otherwise hold shutdown for as long as
    // the whole backlog takes to trickle through the budget, only to find the scheduler stopped.
    for (const gate of this.gates.values()) gate.close();
    const running: Promise<void>[] = [];
    for (const slot of this.slots.values()) {
      if (slot.timer) clearTimeout(slot.timer);
      if (slot.running) running.push(slot.running);
    }
    await Promise.allSettled(running);
  }

  private async run(customerId: string, target: TargetName, intent: Intent): Promise<void> {
    const gate = this.gates.get(target)!;
    await gate.enter();
    let event: RecordedEvent;
    try {
      // Checked after waiting for a slot: the lease may have moved meanwhile.
      if (!(await this.awaitHold(customerId))) return;
      const started = this.deps.now();
      event = await this.deps.targets[target]!.execute(customerId, intent);
      this.counters.executed++;
      this.deps.onExecuted?.(target, event.type, this.deps.now() - started);
    } finally {
      gate.leave();
    }
    await this.recordWithRetry(customerId, event);
  }

  /**
   * Whether the lease still covers a call, waiting a little for a renewal that is late: an intent
   * dropped here is never offered again (its slot keeps the signature), so giving up at once would
   * strand it whenever a renewal lands a moment after the call margin ran out. A lease that is
   * really gone stays gone for longer than this wait, and its new holder runs the intent.
   */
  private async awaitHold(customerId: string): Promise<boolean> {
    for (let waited = 0; !this.stopped; waited += HOLD_POLL_MS) {
      if (this.deps.holds(customerId)) return true;
      if (waited >= HOLD_WAIT_MS) return false;
      await new Promise((r) => setTimeout(r, HOLD_POLL_MS));
    }
    return false;
  }

  private async recordWithRetry(customerId: string, event: RecordedEvent): Promise<void> {
    for (let i = 0; ; i++) {
      try {
        await this.deps.record(customerId, event);
        this.counters.recorded++;
        return;
      } catch (err) {
        this.counters.recordFailures++;
        // Stop trying once another worker owns the customer: it will run the intent again, and
        // the same idempotency key makes that the same request.
        if (this.stopped || !this.deps.holds(customerId)) return;
        const wait = RECORD_RETRY_MS[Math.min(i, RECORD_RETRY_MS.length - 1)]!;
        this.deps.log.warn(
          { err: String(err), customerId, retryInMs: wait },
          'outcome not recorded yet; retrying',
        );
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }
}

/** A target's call slots and request budget (a token bucket refilled per second). */
class Gate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private tokens: number;
  private refilledAt: number;
  private closed = false;

  constructor(
    private readonly limits: TargetLimits,
    private readonly now: () => number,
  ) {
    this.tokens = limits.perSecond ?? Infinity;
    this.refilledAt = now();
  }

  async enter(): Promise<void> {
    if (this.active < this.limits.concurrency) this.active++;
    else await new Promise<void>((r) => this.waiting.push(r)); // the slot is handed over
    await this.takeToken();
  }

  /** Lets every waiting call through at once; they then see the scheduler stopped. */
  close(): void {
    this.closed = true;
    for (const release of this.waiting.splice(0)) release();
  }

  leave(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }

  private async takeToken(): Promise<void> {
    const rate = this.limits.perSecond;
    if (rate === undefined) return;
    while (!this.closed) {
      const t = this.now();
      this.tokens = Math.min(rate, this.tokens + ((t - this.refilledAt) / 1000) * rate);
      this.refilledAt = t;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await new Promise((r) => setTimeout(r, Math.ceil(((1 - this.tokens) / rate) * 1000)));
    }
  }
}
