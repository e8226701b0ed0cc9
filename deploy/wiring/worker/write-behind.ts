// Write-behind snapshots: an actor's steps stay in memory, ahead of its snapshot in KV, and their
// messages stay unacked, until one save covers them all. A save comes with the step that takes the
// actor `saveEvery` steps ahead, with a step whose kind says it must (`mustSave`), `everyMs` after
// the first unsaved step, before the actor's partition is given back, and before an erasure. The
// messages are acked only once a save covers them; should the process die first, they come again,
// in order, to the partition's next holder, which decides them again on the saved snapshot (see
// `fact-step.ts`). So the unsaved tail of an actor is bounded by steps and by time, and the time
// bound is kept far below the ack wait and the streams' retention (`core/config.ts`).
import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from '../../../core/ports.ts';
import { ConcurrencyError } from '../../../core/errors.ts';
import type { KeyedQueue } from '../../../core/keyed-queue.ts';
import type { SnapshotStore } from '../../../core/worker-ports.ts';
import { backoffMs } from '../../../core/policy/backoff.ts';
import type { ActorCache } from '../../../actors/runtime/actor-cache.ts';
import type { ActorKind, KindDecision } from '../../../actors/runtime/actor-kind.ts';
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
  /** Whether this worker still holds the partition of the actor with this snapshot. */
  readonly holds: (actorId: string, snapshot: S) => boolean;
  /** The longest an unsaved step waits for its save, in ms. */
  readonly everyMs: number;
}

interface Held {
  readonly messages: JsMsg[];
  timer: NodeJS.Timeout | undefined;
}

export class WriteBehind<S, E, D extends KindDecision<S>> {
  readonly #o: WriteBehindOptions<S, E, D>;
  readonly #held = new Map<string, Held>();

  constructor(options: WriteBehindOptions<S, E, D>) {
    this.#o = options;
  }

  /** Messages held for a save, across actors. */
  get held(): number {
    let n = 0;
    for (const h of this.#held.values()) n += h.messages.length;
    return n;
  }

  /** Holds the message of a step left unsaved until a save covers it, due within `everyMs`. */
  hold(actorId: string, m: JsMsg): void {
    let held = this.#held.get(actorId);
    if (!held) {
      held = { messages: [], timer: undefined };
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
    const held = this.#take(actorId);
    for (const m of held) m.ack();
  }

  /**
   * Saves the actor's unsaved steps and acks their messages. Runs in the actor's mailbox (the
   * caller's turn there, or a task it posts), so no step of it runs meanwhile. While NATS is away
   * the save is tried again in hand, the messages kept; if the partition is no longer held, or
   * someone else wrote the snapshot, the steps are dropped and their messages left to come again.
   */
  async save(actorId: string, stopped: () => boolean = () => false): Promise<void> {
    const o = this.#o;
    const actor = o.cache.peek(actorId);
    if (!actor) return this.#forget(actorId);
    if (actor.unsaved === 0) return this.saved(actorId);
    for (let attempt = 1; ; attempt++) {
      if (!o.holds(actorId, actor.snapshot)) return this.#drop(actorId);
      try {
        const revision = await o.store.save(actorId, o.kind.encode(actor.snapshot), actor.revision);
        o.cache.set(actorId, actor.snapshot, revision);
        return this.saved(actorId);
      } catch (err) {
        if (err instanceof ConcurrencyError || !notTheMessagesFault(err) || stopped()) {
          o.log.warn(
            { err, actor_id: actorId, steps: actor.unsaved },
            'unsaved steps of an actor dropped: their messages come again and are decided anew',
          );
          return this.#drop(actorId);
        }
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
   * Saves every unsaved actor `which` selects, each in its mailbox: before a partition is given
   * back, or at a stop.
   */
  async saveWhere(which: (actorId: string, snapshot: S) => boolean): Promise<void> {
    const ids = this.#o.cache.unsavedWhere(which);
    await Promise.all(
      ids.map((id) =>
        this.#o.mailboxes
          .post(id, () => this.save(id))
          .catch((err: unknown) => {
            this.#o.log.warn(
              { err, actor_id: id },
              'an actor could not be saved before its release',
            );
          }),
      ),
    );
  }

  /** Forgets the held messages of actors dropped from memory (their partition went): unacked. */
  forgetWhere(which: (actorId: string) => boolean): void {
    for (const id of [...this.#held.keys()]) if (which(id)) this.#forget(id);
  }

  #due(actorId: string): NodeJS.Timeout {
    const timer = setTimeout(() => {
      const held = this.#held.get(actorId);
      if (held) held.timer = undefined;
      this.#o.mailboxes
        .post(actorId, () => this.save(actorId))
        .catch((err: unknown) =>
          this.#o.log.warn({ err, actor_id: actorId }, 'an actor snapshot was not saved'),
        );
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

  #forget(actorId: string): void {
    this.#take(actorId);
  }

  #drop(actorId: string): void {
    this.#o.cache.delete(actorId);
    this.#forget(actorId);
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
