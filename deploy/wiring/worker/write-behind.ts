// Write-behind snapshots: an actor's steps stay in memory, ahead of its snapshot in KV, and their
// messages stay unacked, until one save covers them all. A save comes with the step that takes the
// actor `saveEvery` steps ahead, with a step that leaves it with nothing in flight or whose kind
// says it must (`fact-step.ts`), `everyMs` after the first unsaved step, before the actor's
// partition is given back, before an erasure, and before a failing message leaves our hands. The
// messages are acked only once a save covers them; should the process die first, they come again,
// in order, to the partition's next holder, which decides them again on the saved snapshot. So the
// unsaved tail of an actor is bounded by steps and by time, and the time bound is kept far below
// the ack wait and the streams' retention (`core/config-rules.ts`, `start-worker.ts`).
import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from '../../../core/ports.ts';
import { ConcurrencyError } from '../../../core/errors.ts';
import type { KeyedQueue } from '../../../core/keyed-queue.ts';
import type { SnapshotStore } from '../../../core/worker-ports.ts';
import { backoffMs } from '../../../core/policy/backoff.ts';
import type { ActorCache } from '../../../actors/runtime/actor-cache.ts';
import type { ActorKind, KindDecision } from '../../../actors/runtime/actor-kind.ts';
import { landedAs, snapshotJson } from '../../../actors/runtime/fact-step.ts';
import { isErasedActor } from '../../../actors/runtime/erased.ts';
import { parseMessage } from '../../../actors/runtime/message.ts';
import { correlationOf } from '../../../adapters/jetstream/correlation-header.ts';
import { recordedAt } from '../../../adapters/jetstream/recorded-at.ts';
import {
  INFRASTRUCTURE_RETRY,
  notTheMessagesFault,
} from '../../../adapters/jetstream/redelivery.ts';

export interface WriteBehindOptions<S, E, D extends KindDecision<S>> {
  readonly store: SnapshotStore;
  readonly cache: ActorCache<S>;
  readonly kind: ActorKind<S, E, D>;
  readonly mailboxes: KeyedQueue;
  readonly log: Logger;
  /** Whether this worker still holds the partition. */
  readonly holds: (partition: number) => boolean;
  /** Steps an actor may run ahead of its snapshot. */
  readonly everySteps: number;
  /** The longest an unsaved step waits for its save, in ms. */
  readonly everyMs: number;
  /** The ack wait of the messages held: a save queued behind other work keeps them alive. */
  readonly ackWaitMs: number;
}

interface Held {
  /** The partition whose consumer delivered them. */
  readonly partition: number;
  readonly messages: JsMsg[];
  timer: NodeJS.Timeout | undefined;
}

/** Saves an actor tries when someone else wrote its snapshot, deciding its held messages again. */
const REBASES = 3;

export class WriteBehind<S, E, D extends KindDecision<S>> {
  readonly #o: WriteBehindOptions<S, E, D>;
  readonly #held = new Map<string, Held>();
  /** Actors whose last save failed for a reason of its own: their steps are saved one by one. */
  readonly #oneByOne = new Set<string>();

  constructor(options: WriteBehindOptions<S, E, D>) {
    this.#o = options;
  }

  /** Messages held for a save, across actors. */
  get held(): number {
    let n = 0;
    for (const h of this.#held.values()) n += h.messages.length;
    return n;
  }

  /** How many steps the actor may run ahead of its snapshot (`FactStepDeps.saveEvery`). */
  readonly saveEvery = (actorId: string): number =>
    this.#oneByOne.has(actorId) ? 1 : this.#o.everySteps;

  /** Holds the message of a step left unsaved until a save covers it, due within `everyMs`. */
  hold(actorId: string, partition: number, m: JsMsg): void {
    let held = this.#held.get(actorId);
    if (!held) {
      held = { partition, messages: [], timer: undefined };
      this.#held.set(actorId, held);
    }
    held.messages.push(m);
    held.timer ??= this.#due(actorId);
  }

  /** Tells the server the actor's held messages are still in hand (a later step of it is long). */
  working(actorId: string): void {
    for (const m of this.#held.get(actorId)?.messages ?? []) {
      try {
        m.working();
      } catch {
        // NATS is away: the ack wait may lapse, and the message then comes again.
      }
    }
  }

  /** The actor was just saved, every step of it: its held messages are acked. */
  saved(actorId: string): void {
    this.#oneByOne.delete(actorId);
    for (const m of this.#take(actorId)) m.ack();
  }

  /**
   * Saves the actor's unsaved steps and acks their messages. Runs in the actor's mailbox (the
   * caller's turn there, or a task it posts), so no step of it runs meanwhile.
   * - While NATS is away the save is tried again in hand, the messages kept alive.
   * - When someone else wrote the snapshot (a save that timed out yet landed, say), the held
   *   messages are decided again, in order, on what is stored, and that is saved.
   * - When the partition is no longer held, the steps are dropped: their messages go to its next
   *   holder.
   * - A save that fails for a reason of its own drops the steps and naks their messages in order;
   *   the actor's steps are then saved one by one, each before its ack, so a step that cannot be
   *   saved ends in the DLQ as it would without the write-behind.
   */
  async save(
    actorId: string,
    partition: number,
    stopped: () => boolean = () => false,
  ): Promise<void> {
    try {
      await this.#save(actorId, partition, stopped);
    } catch (err) {
      // Its held messages could not be decided again (NATS away): a save is tried again later.
      const held = this.#held.get(actorId);
      if (held && held.messages.length > 0) held.timer ??= this.#due(actorId);
      throw err;
    }
  }

  async #save(actorId: string, partition: number, stopped: () => boolean): Promise<void> {
    const o = this.#o;
    const held = this.#held.get(actorId);
    let actor = o.cache.peek(actorId);
    if (!actor || actor.unsaved === 0) {
      // Held messages with no unsaved actor: it was dropped (a lost race), so decide them again.
      if (held && held.messages.length > 0) actor = await this.#rebase(actorId, held);
      if (!actor || actor.unsaved === 0) return this.saved(actorId);
    }
    for (let attempt = 1, rebased = 0; ; attempt++) {
      if (!o.holds(held?.partition ?? partition)) return this.#drop(actorId);
      const encoded = snapshotJson(o.kind, actor.snapshot);
      try {
        const revision = await o.store.save(actorId, encoded, actor.revision);
        o.cache.set(actorId, actor.snapshot, revision);
        return this.saved(actorId);
      } catch (err) {
        if (err instanceof ConcurrencyError && held && rebased < REBASES) {
          const landed = await landedAs(o.store, actorId, encoded);
          if (landed !== undefined) {
            o.cache.set(actorId, actor.snapshot, landed);
            return this.saved(actorId);
          }
          rebased++;
          const again = await this.#rebase(actorId, held);
          if (!again) return;
          actor = again;
          continue;
        }
        if (!notTheMessagesFault(err) || stopped()) return this.#refuse(actorId, err, stopped());
        const delayMs = backoffMs(attempt, actorId, INFRASTRUCTURE_RETRY);
        if (attempt === 1 || attempt % 20 === 0)
          o.log.warn(
            { err, actor_id: actorId, attempt, delayMs },
            'NATS is unavailable: an actor snapshot is kept in memory and saved once it is back',
          );
        await this.#keepInHand(actorId, delayMs, stopped);
      }
    }
  }

  /**
   * Before a step, in the actor's mailbox: an actor whose held messages are not in its state in
   * memory (dropped after a lost race) has them decided again first, so that no save acks a
   * message whose step it does not hold.
   */
  async ready(actorId: string): Promise<void> {
    const held = this.#held.get(actorId);
    if (!held || held.messages.length === 0) return;
    const actor = this.#o.cache.peek(actorId);
    if (actor && actor.unsaved > 0) return;
    await this.#rebase(actorId, held);
  }

  /** Saves every unsaved actor held for `partition`, each in its mailbox: before it is given back. */
  async saveWhere(partition: number): Promise<void> {
    const ids = [...this.#held].filter(([, h]) => h.partition === partition).map(([id]) => id);
    await Promise.all(
      ids.map((id) =>
        this.#o.mailboxes
          .post(id, () => this.save(id, partition))
          .catch((err: unknown) => {
            this.#o.log.warn(
              { err, actor_id: id },
              'an actor could not be saved before its release',
            );
          }),
      ),
    );
  }

  /** Forgets the held messages of a partition given back: unacked, they go to its next holder. */
  forgetWhere(partition: number): void {
    for (const [id, h] of [...this.#held]) if (h.partition === partition) this.#take(id);
  }

  /**
   * Decides the held messages again, in order, on the stored snapshot: the actor as it would be
   * had this process just taken the partition. Undefined when it cannot be (the actor was erased
   * meanwhile, or the snapshot is unreadable): the messages are then naked.
   */
  async #rebase(actorId: string, held: Held): Promise<ReturnType<ActorCache<S>['peek']>> {
    const o = this.#o;
    try {
      const stored = await o.store.load(actorId);
      if (stored && isErasedActor(stored.value)) throw new Error('the actor was erased');
      let snapshot = stored ? o.kind.decode(actorId, stored.value) : o.kind.start(actorId);
      for (const m of held.messages) {
        const parsed = parseMessage(o.kind, m.data, actorId, recordedAt(m), correlationOf(m));
        if (parsed.ok) snapshot = o.kind.decide(snapshot, parsed.event).snapshot;
      }
      o.cache.delete(actorId);
      for (let i = 0; i < held.messages.length; i++)
        o.cache.step(actorId, snapshot, stored?.revision);
      o.log.info(
        { actor_id: actorId, messages: held.messages.length },
        'actor snapshot changed under its unsaved steps: they were decided again on it',
      );
      return o.cache.peek(actorId);
    } catch (err) {
      if (!notTheMessagesFault(err)) return this.#refuse(actorId, err, false);
      throw err;
    }
  }

  #refuse(actorId: string, err: unknown, stopping: boolean): undefined {
    const messages = this.#take(actorId);
    this.#o.cache.delete(actorId);
    if (stopping) return undefined;
    this.#oneByOne.add(actorId);
    this.#o.log.error(
      { err, actor_id: actorId, messages: messages.length },
      'actor snapshot not saved: its messages come again, each saved before its ack',
    );
    for (const m of messages) m.nak();
    return undefined;
  }

  #due(actorId: string): NodeJS.Timeout {
    const timer = setTimeout(() => {
      const held = this.#held.get(actorId);
      if (held) held.timer = undefined;
      // Queued behind other work (the mailboxes are bounded), the messages are kept alive.
      this.working(actorId);
      const alive = setInterval(
        () => this.working(actorId),
        Math.max(100, Math.floor(this.#o.ackWaitMs / 3)),
      );
      alive.unref();
      this.#o.mailboxes
        .post(actorId, () => {
          clearInterval(alive);
          const partition = this.#held.get(actorId)?.partition;
          return partition === undefined ? Promise.resolve() : this.save(actorId, partition);
        })
        .catch((err: unknown) =>
          this.#o.log.warn({ err, actor_id: actorId }, 'an actor snapshot was not saved'),
        )
        .finally(() => clearInterval(alive));
    }, this.#o.everyMs);
    timer.unref();
    return timer;
  }

  #take(actorId: string): JsMsg[] {
    const held = this.#held.get(actorId);
    if (!held) return [];
    if (held.timer) clearTimeout(held.timer);
    this.#held.delete(actorId);
    return held.messages;
  }

  #drop(actorId: string): void {
    this.#o.cache.delete(actorId);
    this.#take(actorId);
  }

  /** Waits, telling the server every second that the held messages are still in hand. */
  async #keepInHand(actorId: string, ms: number, stopped: () => boolean): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end && !stopped()) {
      this.working(actorId);
      await new Promise((r) => setTimeout(r, Math.min(1_000, end - Date.now())));
    }
  }
}
