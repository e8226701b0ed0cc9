// What happens to one message of an actor's stream (CHANGES for customers, INVOICES for invoices):
// a malformed one goes to the DLQ and is acked; a fact or outcome runs through its actor and is
// acked once the new state is saved (at once, or by the write-behind, `write-behind.ts`); a failing
// one is retried with backoff and, on its last delivery, dead-lettered with the last error.
import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from '../../../core/ports.ts';
import type { DeadLetterSink } from '../../../core/worker-ports.ts';
import { applyEvent, type FactStepDeps } from '../../../actors/runtime/fact-step.ts';
import { parseMessage, subjectActorId } from '../../../actors/runtime/message.ts';
import type { KindDecision } from '../../../actors/runtime/actor-kind.ts';
import type { CustomerEvent, CustomerSnapshot, Decision } from '../../../actors/customer/index.ts';
import { LeaseLostError } from '../../../actors/runtime/errors.ts';
import type { WriteBehind } from './write-behind.ts';
import { ActorErasedError } from '../../../actors/runtime/erased.ts';
import { NewerVersionError } from '../../../core/errors.ts';
import { recordedAt } from '../../../adapters/jetstream/recorded-at.ts';
import { correlationField, correlationOf } from '../../../adapters/jetstream/correlation-header.ts';
import {
  deadLetter,
  retryOrDeadLetter,
  whileUnavailable,
  type Disposal,
  type Redelivery,
} from '../../../adapters/jetstream/redelivery.ts';

export interface FactHandlerDeps<
  S = CustomerSnapshot,
  E = CustomerEvent,
  D extends KindDecision<S> = Decision & KindDecision<S>,
> extends FactStepDeps<S, E, D> {
  readonly stream: string;
  readonly deadLetters: DeadLetterSink;
  readonly ackWaitMs: number;
  readonly maxDeliver: number;
  readonly log: Logger;
  readonly counters: { facts: number; deadLettered: number };
  /** Deletes (overwriting) a message of the stream: one that reached an erased actor. */
  readonly removeMessage?: (seq: number) => Promise<unknown>;
  /**
   * The effects of a step beyond its snapshot (scheduling intents, recording links, dead letters),
   * awaited before the ack: a failure naks the message, and the effects are idempotent.
   */
  readonly afterStep?: (step: StepDone<E, D>) => Promise<void>;
  /** True once the partition is being stopped: a step waiting for NATS or Postgres gives up. */
  readonly stopping?: () => boolean;
  /** Called after each handled message, with when it ran: lets callers audit who processed what. */
  readonly onHandled?: (record: HandledRecord) => void;
  /** Holds the messages of steps left unsaved (`saveEvery` > 1) until a save covers them. */
  readonly writeBehind?: WriteBehind<S, E, D>;
}

export interface StepDone<E = CustomerEvent, D = Decision> {
  /** The actor's id, from the subject: a customer's, or an invoice's. */
  actorId: string;
  event: E;
  decision: D;
  /** False when the event changed nothing (stale or repeated). */
  saved: boolean;
  /** The stream sequence of the message: unique, for dedupe ids. */
  seq: number;
}

export interface HandledRecord {
  partition: number;
  seq: number;
  actorId: string;
  startedAt: number;
  endedAt: number;
  outcome: 'applied' | 'skipped' | 'dead-lettered' | 'retrying' | 'fenced';
}

/** Nak delays for failed steps: short, growing, capped well below the ack wait. */
const RETRY = Object.freeze({ baseMs: 200, factor: 2, capMs: 10_000, jitter: 0.5 });

export async function handleFactMessage<S, E, D extends KindDecision<S>>(
  deps: FactHandlerDeps<S, E, D>,
  m: JsMsg,
): Promise<void> {
  const startedAt = Date.now();
  const actorId = subjectActorId(m.subject);
  const outcome = await decideOutcome(deps, m, actorId);
  deps.onHandled?.({
    partition: deps.partition,
    seq: m.seq,
    actorId,
    startedAt,
    endedAt: Date.now(),
    outcome,
  });
}

async function decideOutcome<S, E, D extends KindDecision<S>>(
  deps: FactHandlerDeps<S, E, D>,
  m: JsMsg,
  actorId: string,
): Promise<HandledRecord['outcome']> {
  if (!deps.holds()) return 'fenced';
  const kind = deps.kind;
  // The stream's timestamp and header, not this process's clock: a rebuild decides the same.
  const parsed = parseMessage(kind, m.data, actorId, recordedAt(m), correlationOf(m));
  if (!parsed.ok && parsed.skip) {
    if (!deps.holds()) return 'fenced';
    m.ack();
    deps.log.warn(
      { seq: m.seq, subject: m.subject, ...correlationField(m), reason: parsed.reason },
      'message skipped',
    );
    return 'skipped';
  }
  const redelivery: Redelivery = { ...deps, source: kind.source, retry: RETRY };
  const stopped = () => !deps.holds() || (deps.stopping?.() ?? false);
  // A newer rtws wrote it (a rolling upgrade): kept unacked, in order, for a process that can read it.
  if (!parsed.ok && parsed.newer) {
    // Its earlier steps are saved first: this one may wait for a long time.
    await saveUnsaved(deps, actorId, stopped);
    const newer = new NewerVersionError(`message ${m.seq} (${parsed.reason})`);
    return counted(
      deps,
      await whileUnavailable({ log: deps.log, stopped }, m, () => Promise.reject(newer)).catch(
        (err: unknown) => retryOrDeadLetter(redelivery, m, err),
      ),
    );
  }
  if (!parsed.ok) return counted(deps, await deadLetter(redelivery, m, parsed.reason));
  // The actor's earlier messages, held until a save covers them, wait behind this one.
  const working = setInterval(
    () => {
      m.working();
      deps.writeBehind?.working(actorId);
    },
    Math.max(100, Math.floor(deps.ackWaitMs / 3)),
  );
  const writeBehind = deps.writeBehind;
  try {
    let unsaved = false;
    // A step that meets NATS or Postgres away is tried again in hand, in order, until they are back.
    await whileUnavailable({ log: deps.log, stopped }, m, async () => {
      await writeBehind?.ready(actorId);
      const step = await applyEvent(deps, actorId, parsed.event);
      unsaved = step.unsaved;
      await deps.afterStep?.({
        actorId,
        event: parsed.event,
        decision: step.decision,
        saved: step.saved,
        seq: m.seq,
      });
    });
    if (!deps.holds()) return 'fenced';
    if (unsaved && writeBehind) writeBehind.hold(actorId, deps.partition, m);
    else {
      writeBehind?.saved(actorId);
      m.ack();
    }
    deps.counters.facts++;
    return 'applied';
  } catch (err) {
    if (err instanceof LeaseLostError) return 'fenced';
    if (err instanceof ActorErasedError) return dropErased(deps, m, actorId, stopped);
    // The message leaves our hands (naked or dead-lettered) only with the state before it saved.
    await saveUnsaved(deps, actorId, stopped);
    return counted(deps, await retryOrDeadLetter(redelivery, m, err));
  } finally {
    clearInterval(working);
  }
}

/**
 * A message that reached an erased actor (a call's late outcome, an event mapped just before the
 * erasure): removed from the stream so that nothing of the customer stays there, then acked. One
 * that cannot be removed is kept in hand while NATS is away, else given back, to be removed when it
 * comes again.
 */
async function dropErased<S, E, D extends KindDecision<S>>(
  deps: FactHandlerDeps<S, E, D>,
  m: JsMsg,
  actorId: string,
  stopped: () => boolean,
): Promise<HandledRecord['outcome']> {
  if (!deps.holds()) return 'fenced';
  try {
    // While NATS is away, kept in hand: a nak would count towards the server's max deliveries.
    await whileUnavailable({ log: deps.log, stopped }, m, async () => {
      await deps.removeMessage?.(m.seq);
    });
  } catch (err) {
    deps.log.warn(
      { err, seq: m.seq, actor_id: actorId, ...correlationField(m) },
      'could not remove a message of an erased actor; it is tried again',
    );
    m.nak(5_000);
    return 'skipped';
  }
  m.ack();
  deps.log.info(
    { seq: m.seq, actor_id: actorId, ...correlationField(m) },
    'message for an erased actor dropped',
  );
  return 'skipped';
}

/**
 * Saves the actor's steps held by the write-behind. A save that fails here leaves them held, and
 * the write-behind tries again within `RTWS_SNAPSHOT_EVERY_MS`.
 */
async function saveUnsaved<S, E, D extends KindDecision<S>>(
  deps: FactHandlerDeps<S, E, D>,
  actorId: string,
  stopped: () => boolean,
): Promise<void> {
  await deps.writeBehind
    ?.save(actorId, deps.partition, stopped)
    .catch((err: unknown) =>
      deps.log.warn({ err, actor_id: actorId }, 'unsaved steps not saved yet; they stay held'),
    );
}

function counted(deps: Pick<FactHandlerDeps, 'counters'>, disposal: Disposal): Disposal {
  if (disposal === 'dead-lettered') deps.counters.deadLettered++;
  return disposal;
}
