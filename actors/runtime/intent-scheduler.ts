// Runs the intents recorded in actor snapshots: at most one call in flight per actor and target,
// bounded concurrency and a request budget per target, and no call before its `notBefore`. The
// outcome of a call is recorded (as an event on the actor's subject), not applied here: the actor
// sees it in stream order, so a replay decides exactly the same. Written once for every kind of
// actor (customers, invoices): the kind says which intents a snapshot holds. Two schedulers can
// share a target's gate, so that customer and invoice calls to Stripe spend one rate budget.
//
// Targets are independent: each has its own slots and budget, so a slow or failing target never
// holds back another.
import pLimit, { type LimitFunction } from 'p-limit';
import type { Logger } from '../../core/ports.ts';
import { backoffMs, type BackoffPolicy } from '../../core/policy/backoff.ts';
import type { SchedulableIntent, SchedulingKind } from './actor-kind.ts';

export interface TargetLimits {
  /** Calls in flight at once across all actors. */
  readonly concurrency: number;
  /** Calls started per second (the target's rate budget); unlimited when omitted. */
  readonly perSecond?: number;
  /**
   * The account's budget, shared with every other process: taken from instead of a bucket of this
   * process's own, so that any number of workers together spend `perSecond` at most.
   */
  readonly budget?: RequestBudget;
}

/** A request budget shared by processes (adapters/jetstream/kv-budget.ts). */
export interface RequestBudget {
  readonly perSecond: number;
  /** Resolves once one request may start. */
  take(): Promise<void>;
  /** Requests per second still unspent in the current window, across every process. */
  spare(): Promise<number>;
  /** Lets a waiting `take` return. */
  close(): void;
}

/** What the scheduler tells an executor about one call. */
export interface CallContext {
  /**
   * Changes made on the target since the intent was decided may not have reached the actor yet:
   * it was decided before, or within `TAKEOVER_GRACE_MS` after, this worker took its actor over
   * (a restart or a takeover; changes made while no worker held it are still on their way behind
   * it), or more than `STALE_DECISION_MS` ago, or it is a resend after a failure (the wait for it
   * left time for a change whose event is still on its way).
   */
  readonly decidedEarlier: boolean;
  /**
   * Whether the call may still go out: the lease outlives it (renewals included). An executor
   * that queues calls (Salesforce's coalescer) asks again when it sends, and reports a call it may
   * no longer send as not sent.
   */
  readonly stillCallable?: () => boolean;
}

export interface TargetExecutor<I, R> {
  readonly limits: TargetLimits;
  /** Carries out one intent and reports its outcome; never rejects (a failure is an outcome). */
  execute(actorId: string, intent: I, call: CallContext): Promise<R>;
}

/** An intent decided this long ago counts as decided earlier (see `CallContext`). */
export const STALE_DECISION_MS = 60_000;
/** After a takeover, the time its backlog and the catch-up it runs take to be decided. */
export const TAKEOVER_GRACE_MS = 30_000;

export interface SchedulerDeps<
  S,
  T extends string,
  I extends SchedulableIntent,
  R extends { type: string },
> {
  /** The kind of actor: the pending intents of a snapshot, and the id whose partition holds it. */
  readonly kind: SchedulingKind<S, T, I>;
  // Not inferred from the targets: a scheduler given some targets is still one of every target,
  // and its outcome type is the recorder's.
  readonly targets: Partial<Record<NoInfer<T>, TargetExecutor<NoInfer<I>, NoInfer<R>>>>;
  /**
   * Records an outcome durably; rejects when it could not (then it is retried). `owner` is the id
   * whose partition holds the actor (see `ownerOf`).
   */
  readonly record: (actorId: string, event: R, owner: string) => Promise<void>;
  /** Whether this worker may still act for the owner (its partition lease). */
  readonly holds: (owner: string) => boolean;
  /** Since when this worker holds the owner's partition (ms since the epoch). */
  readonly heldSince?: (owner: string) => number | undefined;
  /** False while a target is paused (its account not verified yet): its calls wait. */
  readonly targetReady?: (target: T) => boolean;
  /**
   * True for an actor that must call no target now (its erasure began, or keeps the targets):
   * its intents are not scheduled, and one scheduled already is not sent.
   */
  readonly refuses?: (actorId: string) => boolean;
  readonly now: () => number;
  readonly log: Logger;
  /** Told of every call made: its target, the outcome's type and how long it took. */
  readonly onExecuted?: (target: T, outcome: R['type'], ms: number) => void;
  /** Gates of another scheduler to share, per target: one budget and one set of call slots. */
  readonly gates?: Partial<Record<T, Gate>>;
}

interface Slot {
  signature: string;
  /** The intent it was scheduled for. */
  intentId: string;
  /**
   * The actor no longer wants its intent (it offered another, or none, for the target while the
   * call waited for a slot or the budget): if not sent yet, it is not sent at all.
   */
  withdrawn?: boolean;
  dueAt: number;
  owner: string;
  timer?: NodeJS.Timeout;
  running?: Promise<void>;
  /** Set once the call is sent (past the gate and the lease check), until its outcome is recorded. */
  sent?: boolean;
  /** Offered while a call was running: scheduled when that call's outcome is recorded. */
  next?: Offer<string, SchedulableIntent>;
  /**
   * Its partition was handed over while it waited for a call slot or the budget: it leaves the
   * gate without a call, a token or the wait for a late lease renewal (the next holder runs it).
   */
  handedOver?: boolean;
  /**
   * Its partition was handed over after its call was sent: the outcome, if it cannot be recorded
   * now, is left to the next holder, who runs the intent again with the same key.
   */
  released?: boolean;
}

interface Offer<T extends string, I> {
  actorId: string;
  owner: string;
  target: T;
  intent: I;
  dueAt: number;
  signature: string;
}

/** 100 ms, 200 ms, 400 ms … capped at 5 s, while the stream cannot take an outcome. */
const RECORD_RETRY: BackoffPolicy = Object.freeze({
  baseMs: 100,
  factor: 2,
  capMs: 5_000,
  jitter: 0,
});
/** How long a call waits for its lease to be renewed before it is left to the next holder. */
const HOLD_WAIT_MS = 5_000;
const HOLD_POLL_MS = 100;
/** How often lower-priority work looks whether live calls leave room. */
const IDLE_POLL_MS = 20;
/**
 * How long a reading of the shared budget that showed room lets backfill items through without
 * another: a fifth of a second's budget was spare, and live calls take their slots first anyway.
 */
const SPARE_TRUST_MS = 100;
/** How often a call of a paused target looks whether it may go. */
const PAUSED_POLL_MS = 250;

export class IntentScheduler<
  S,
  T extends string,
  I extends SchedulableIntent,
  R extends { type: string },
> {
  /** Per actor and target: the intent last scheduled or run, by id and attempt. */
  private readonly slots = new Map<string, Slot>();
  private readonly gates = new Map<T, Gate>();
  private stopped = false;
  readonly counters = { executed: 0, recorded: 0, recordFailures: 0 };

  constructor(private readonly deps: SchedulerDeps<S, T, I, R>) {
    for (const [target, t] of Object.entries(deps.targets) as [T, { limits: TargetLimits }][]) {
      this.gates.set(target, deps.gates?.[target] ?? new Gate(t.limits, deps.now));
    }
  }

  /** A target's gate, for another scheduler to share (see `SchedulerDeps.gates`). */
  gate(target: T): Gate | undefined {
    return this.gates.get(target);
  }

  /**
   * Looks at an actor's snapshot after each step and schedules what is pending and not yet run.
   * `resumed`: the snapshot was read back after a takeover or a restart, and may be older than
   * the actor's steps since. A slot those steps made (anything but one left from before the
   * partition went) holds a newer intent, or ran it: the resumed offer leaves it alone.
   */
  offer(actorId: string, snapshot: S, { resumed = false } = {}): void {
    if (this.stopped || this.deps.refuses?.(actorId)) return;
    const due = new Map(this.deps.kind.pending(snapshot).map((d) => [d.target, d]));
    const owner = this.deps.kind.ownerOf(actorId, snapshot);
    for (const target of Object.keys(this.deps.targets) as T[]) {
      const key = `${actorId}/${target}`;
      const slot = this.slots.get(key);
      // A slot offered anew (`offerAnew`) is resumed too: a step may have made it while the
      // partition was being handed over, after the hand-over had swept the slots.
      if (resumed && slot && !slot.handedOver && !slot.released && slot.signature !== '') continue;
      const d = due.get(target);
      // A step's snapshot (never a resumed one, which may be behind): the actor has moved on.
      if (!resumed && slot?.running && !slot.sent && d?.intent.id !== slot.intentId)
        slot.withdrawn = true;
      // Waiting for its time (a retry's backoff), and the actor has nothing for the target now.
      if (!resumed && slot?.timer && !slot.running && d === undefined) {
        clearTimeout(slot.timer);
        this.slots.delete(key);
        continue;
      }
      if (d) {
        this.schedule(key, {
          actorId,
          owner,
          target,
          intent: d.intent,
          dueAt: d.dueAt,
          signature: `${d.intent.id}#${d.intent.attempt}`,
        });
        continue;
      }
      // Nothing pending: the last outcome was applied, so its slot can go (memory follows the
      // customers with work, not every customer ever seen).
      if (slot && !slot.running && !slot.timer && !slot.next) this.slots.delete(key);
    }
  }

  private schedule(key: string, offer: Offer<T, I>): void {
    const slot = this.slots.get(key);
    // Already scheduled, running or run: its outcome is on its way to the actor. The one
    // exception is a waiting intent brought forward (a retry request on a paused target keeps
    // the intent and its attempt, only its notBefore moves).
    // A slot handed over leaves without running: the same intent offered again (its partition is
    // back) goes after it.
    if (
      slot?.signature === offer.signature &&
      !slot.handedOver &&
      !(slot.timer && offer.dueAt < slot.dueAt)
    )
      return;
    if (slot?.running) {
      slot.next = offer; // one call per customer and target
      return;
    }
    if (slot?.timer) clearTimeout(slot.timer);
    const next: Slot = {
      signature: offer.signature,
      intentId: offer.intent.id,
      dueAt: offer.dueAt,
      owner: offer.owner,
    };
    this.slots.set(key, next);
    next.timer = setTimeout(
      () => {
        next.timer = undefined;
        next.running = this.run(offer, next).finally(() => {
          next.running = undefined;
          next.sent = false;
          const queued = next.next as Offer<T, I> | undefined;
          next.next = undefined;
          if (queued && !this.stopped) this.schedule(key, queued);
        });
      },
      Math.max(0, offer.dueAt - this.deps.now()),
    );
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

  /** Actor-and-target slots held in memory. */
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

  /**
   * Gives up the actors of the owners `owned` accepts (their partition is going): what is only
   * scheduled is dropped, and this waits for the calls already sent and for their outcomes to be
   * recorded, so that no call is in flight when the next holder resumes the same intent. Calls
   * waiting for a slot see the lease gone and are left to that holder.
   */
  async handOver(owned: (owner: string) => boolean): Promise<void> {
    const sent: Promise<void>[] = [];
    for (const [key, slot] of this.slots) {
      if (!owned(slot.owner)) continue;
      if (slot.sent && slot.running) {
        slot.released = true;
        sent.push(slot.running);
      }
      this.drop(key, slot);
    }
    await Promise.allSettled(sent);
  }

  /**
   * Drops an erased actor's intents: what is only scheduled goes, and a call waiting for a slot
   * leaves without being sent. A call already sent ends; its outcome reaches the erased actor,
   * which drops it.
   */
  forget(actorId: string): void {
    for (const target of Object.keys(this.deps.targets)) {
      const key = `${actorId}/${target}`;
      const slot = this.slots.get(key);
      if (slot) this.drop(key, slot);
    }
  }

  /** Whether a call of the actor's has been sent and not yet ended. */
  busy(actorId: string): boolean {
    return Object.keys(this.deps.targets).some((target) => {
      const slot = this.slots.get(`${actorId}/${target}`);
      return slot?.running !== undefined && slot.sent === true;
    });
  }

  /** What is only scheduled goes; a call waiting for a slot leaves it without being sent. */
  private drop(key: string, slot: Slot): void {
    slot.next = undefined;
    if (slot.running) {
      if (!slot.sent) slot.handedOver = true;
      return;
    }
    if (slot.timer) clearTimeout(slot.timer);
    this.slots.delete(key);
  }

  private async run({ actorId, owner, target, intent }: Offer<T, I>, slot: Slot): Promise<void> {
    while (this.deps.targetReady?.(target) === false && !this.stopped)
      await new Promise((r) => setTimeout(r, PAUSED_POLL_MS));
    if (this.stopped) return;
    const key = `${actorId}/${target}`;
    const given = () => slot.handedOver === true;
    const event = await this.gates.get(target)!.run(
      async () => {
        // Checked after waiting for a slot: the lease may have moved meanwhile. And again after
        // the lease's check, which may wait: a hand-over meanwhile did not wait for this call,
        // so it must not be sent (the next holder sends it).
        if (given() || !(await this.awaitHold(owner)) || given()) {
          // Not run: should this worker hold the actor again, the same intent must run then.
          this.offerAnew(key, slot);
          return undefined;
        }
        // The actor dropped it while it waited (a person's edit dropped the push for a fetch, or a
        // read of Salesforce for a merge): sent now, it would go over that edit. What replaced it,
        // if anything, runs next, when this one ends.
        if (slot.withdrawn) return undefined;
        if (this.deps.refuses?.(actorId)) {
          // Should the refusal end, the same intent offered again runs.
          this.offerAnew(key, slot);
          return undefined;
        }
        slot.sent = true;
        const started = this.deps.now();
        const outcome = await this.deps.targets[target]!.execute(actorId, intent, {
          decidedEarlier: this.decidedEarlier(owner, intent, started),
          stillCallable: () => this.deps.holds(owner) && this.deps.refuses?.(actorId) !== true,
        });
        this.counters.executed++;
        this.deps.onExecuted?.(target, outcome.type, this.deps.now() - started);
        return outcome;
      },
      () => given() || slot.withdrawn === true || this.deps.refuses?.(actorId) === true,
    );
    if (event) await this.recordWithRetry(key, actorId, event, slot, intent);
  }

  /**
   * The slot's intent is not taken for one run: offered again (by a step, or a resume of its
   * partition here), it runs. Only while the slot is still the actor's for that target.
   */
  private offerAnew(key: string, slot: Slot): void {
    if (this.slots.get(key) === slot) slot.signature = '';
  }

  private decidedEarlier(owner: string, intent: I, now: number): boolean {
    const at = intent.recordedAt;
    if (at === undefined) return false;
    if (intent.attempt > 1) return true;
    const since = this.deps.heldSince?.(owner);
    return (since !== undefined && at < since + TAKEOVER_GRACE_MS) || now - at > STALE_DECISION_MS;
  }

  /**
   * Whether the lease still covers a call, waiting a little for a renewal that is late: an intent
   * dropped here runs again only when offered again (a step, or a resume), so giving up at once
   * would leave it waiting whenever a renewal lands a moment after the call margin ran out. A
   * lease that is really gone stays gone for longer than this wait, and its new holder runs the
   * intent.
   */
  private async awaitHold(owner: string): Promise<boolean> {
    for (let waited = 0; !this.stopped; waited += HOLD_POLL_MS) {
      if (this.deps.holds(owner)) return true;
      if (waited >= HOLD_WAIT_MS) return false;
      await new Promise((r) => setTimeout(r, HOLD_POLL_MS));
    }
    return false;
  }

  /**
   * Until the outcome is recorded, or the partition is handed over (its next holder runs the
   * intent again, and the same idempotency key makes that the same request). A lease that only
   * looks lapsed (its renewal failed while NATS elects a leader) is no reason to stop: the worker
   * may keep the partition, and nothing would then run the intent again, its slot having run it.
   */
  private async recordWithRetry(
    key: string,
    actorId: string,
    event: R,
    slot: Slot,
    { correlationId }: I,
  ): Promise<void> {
    const { owner } = slot;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.deps.record(actorId, event, owner);
        this.counters.recorded++;
        return;
      } catch (err) {
        this.counters.recordFailures++;
        if (this.stopped) return;
        if (slot.released) {
          // Left to the next holder, which may be this worker again: its resume offers the same
          // intent, which must then run (with the same key) rather than find it already run.
          this.offerAnew(key, slot);
          return;
        }
        const wait = backoffMs(attempt, actorId, RECORD_RETRY);
        this.deps.log.warn(
          {
            err: String(err),
            actorId,
            ...(correlationId === undefined ? {} : { correlation_id: correlationId }),
            retryInMs: wait,
          },
          'outcome not recorded yet; retrying',
        );
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }
}

/**
 * A target's call slots and request budget (a token bucket refilled per second). The slots are a
 * plain FIFO limit; the budget, and the idle wait that lets live calls go before a backfill's, are
 * what this adds on top.
 */
export class Gate {
  private readonly slots: LimitFunction;
  private tokens: number;
  private refilledAt: number;
  private closed = false;
  /** When the shared budget last showed room (ms), trusted for `SPARE_TRUST_MS`. */
  private spareSeenAt = -Infinity;

  constructor(
    private readonly limits: TargetLimits,
    private readonly now: () => number,
  ) {
    this.slots = pLimit(limits.concurrency);
    this.tokens = limits.perSecond ?? Infinity;
    this.refilledAt = now();
  }

  /**
   * Runs `call` in one of the target's slots, once the budget has a request for it. A call whose
   * `skip` holds by the time it has a slot runs without taking a request (it is to make none).
   */
  run<V>(call: () => Promise<V>, skip?: () => boolean): Promise<V> {
    return this.slots(async () => {
      if (!skip?.()) await this.takeToken();
      return call();
    });
  }

  /**
   * Resolves once live calls leave room: no call waits for a slot, a quarter of the slots are
   * free, and a fifth of a second's budget is unspent. Work of lower priority (a backfill) waits
   * for this before each item it adds, so a live change finds a slot and a token at once.
   */
  async whenIdle(): Promise<void> {
    const { concurrency, perSecond } = this.limits;
    const spareSlots = Math.max(1, Math.floor(concurrency / 4));
    const budget = this.limits.budget;
    const spareTokens = perSecond === undefined ? 0 : Math.max(1, perSecond / 5);
    while (!this.closed) {
      this.refill();
      const room =
        this.slots.pendingCount === 0 &&
        this.slots.activeCount <= concurrency - spareSlots &&
        // Shared: what every process left of the current window, as a rate; a reading that showed
        // room stands for a moment, so that a backfill's items cost no KV read each.
        (budget ? await this.budgetHasRoom(budget) : this.tokens >= spareTokens);
      if (room) return;
      // A shared budget is read from KV: less often.
      await new Promise((r) => setTimeout(r, budget ? IDLE_POLL_MS * 5 : IDLE_POLL_MS));
    }
  }

  private async budgetHasRoom(budget: RequestBudget): Promise<boolean> {
    if (this.now() - this.spareSeenAt < SPARE_TRUST_MS) return true;
    const room = (await budget.spare().catch(() => 0)) >= budget.perSecond / 5;
    if (room) this.spareSeenAt = this.now();
    return room;
  }

  /** Lets every waiting call through at once; they then see the scheduler stopped. */
  close(): void {
    this.closed = true;
    this.limits.budget?.close();
    this.slots.concurrency = Infinity;
  }

  private async takeToken(): Promise<void> {
    const budget = this.limits.budget;
    if (budget) {
      // NATS away: the call waits with the rest, as its outcome could not be recorded anyway.
      while (!this.closed)
        try {
          return await budget.take();
        } catch {
          await new Promise((r) => setTimeout(r, IDLE_POLL_MS * 5));
        }
      return;
    }
    const rate = this.limits.perSecond;
    if (rate === undefined) return;
    while (!this.closed) {
      this.refill();
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await new Promise((r) => setTimeout(r, Math.ceil(((1 - this.tokens) / rate) * 1000)));
    }
  }

  private refill(): void {
    const rate = this.limits.perSecond;
    if (rate === undefined) return;
    const t = this.now();
    this.tokens = Math.min(rate, this.tokens + ((t - this.refilledAt) / 1000) * rate);
    this.refilledAt = t;
  }
}
