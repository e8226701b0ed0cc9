// What a step means beyond the actor's snapshot, done before its message is acked (each effect is
// idempotent, so a redelivery repeats them harmlessly):
// - the executors are offered the snapshot's pending intents;
// - a new link to a target's object is recorded in Postgres (again when a redelivery finds the
//   step already in the snapshot: the link may not have been);
// - a target that gave up leaves a DLQ letter whose redrive asks the actor to retry it (again when
//   a redelivery finds the step already in the snapshot: the letter may not have been published);
// - a customer deleted on a target is deleted here, with that target as its origin;
// - the Postgres writes the actor decided on changes seen in Stripe are carried out, oldest first,
//   and reported back to it (a write already done finds its events in the inbox and is skipped):
//   by the change it captured, which carries the write's tag, or else by a `CatalogueApplied`.
import type { DeadLetterSink } from '../../../core/worker-ports.ts';
import { PermanentApplyError } from '../../../core/errors.ts';
import type { FieldPatch } from '../../../core/policy/push.ts';
import type { Names } from '../../../core/subjects.ts';
import {
  RESTORE_ORIGIN,
  TARGET_NAMES,
  pendingApplies,
  writeTag,
  type CatalogueApply,
  type CustomerEvent,
  type CustomerSnapshot,
  type TargetName,
} from '../../../actors/customer/index.ts';
import type { CustomerScheduler } from '../../../actors/customer/kind.ts';
import {
  encodeRecordedEvent,
  type RecordedEvent,
} from '../../../actors/customer/outcome-message.ts';
import { REFUSED_WRITES } from '../../../adapters/jetstream/dlq.ts';
import type { StepDone } from './fact-handler.ts';

export interface CatalogueEffects {
  recordLink(customerId: string, target: TargetName, externalId: string): Promise<void>;
  /**
   * Carries out a write decided on a change seen in Stripe. Rejects with a `PermanentApplyError`
   * when Postgres refuses the content for good; any other rejection is retried. `captured`: the
   * change it made was captured with the write's tag, and reports it to the actor.
   */
  applyFromStripe(
    customerId: string,
    apply: CatalogueApply,
  ): Promise<{ version: number | null; kept: FieldPatch; captured: boolean }>;
}

export interface StepEffectsDeps {
  readonly scheduler: CustomerScheduler;
  readonly deadLetters: DeadLetterSink;
  readonly names: Names;
  readonly catalogue?: CatalogueEffects;
  /** Records an outcome on the customer's subject (the scheduler's recorder). */
  readonly record?: (customerId: string, event: RecordedEvent) => Promise<void>;
}

/**
 * Outcomes that created, found or matched a twin: their link is recorded again (idempotent). Of
 * the catalogue's own `CustomerCreated`, only a restore's: a row brought back after a database
 * restore gets every link its actor knows. A customer inserted from a target has its link written
 * with the insert (recording it again cost an import a statement per customer).
 */
const LINKING = /^(Stripe|Salesforce)\w+(Created|Found|Matched)$/;

function relinks(event: CustomerEvent): boolean {
  if (LINKING.test(event.type)) return true;
  return event.type === 'CustomerCreated' && event.metadata.origin === RESTORE_ORIGIN;
}
const encoder = new TextEncoder();

/**
 * The targets this report gave up on (`failed`) or found unlinked, and no later step moved: their
 * error is this report's, by its time and, for an outcome, its intent.
 */
function gaveUpOn(event: CustomerEvent, snapshot: CustomerSnapshot): TargetName[] {
  const data = 'data' in event ? (event.data as { intentId?: unknown }) : {};
  const intentId = typeof data.intentId === 'string' ? data.intentId : undefined;
  return TARGET_NAMES.filter((t) => {
    const { status, lastError } = snapshot.context.targets[t];
    return (
      (status === 'failed' || status === 'unlinked') &&
      lastError !== null &&
      lastError.at === event.at &&
      (intentId === undefined || lastError.intent.id === intentId)
    );
  });
}

/** The targets whose twin a linking event is about: its own, or every one for a restore's row. */
function linkedBy(event: CustomerEvent): readonly TargetName[] {
  if (event.type.startsWith('Stripe')) return ['stripe'];
  if (event.type.startsWith('Salesforce')) return ['salesforce'];
  return TARGET_NAMES;
}

export interface StepEffects {
  (step: StepDone): Promise<void>;
  /**
   * After a takeover or a restart: the Postgres writes an actor still waits for are carried out,
   * even if the message that decided them ended in the DLQ.
   */
  resume(customerId: string, snapshot: CustomerSnapshot): Promise<void>;
}

/**
 * How long a write this process carried out and reported is left to its report: the report is on
 * the customer's subject (its publish was acknowledged), or is the captured change in the outbox
 * (committed with the write), so the actor takes it in turn.
 */
const REPORTED_TRUST_MS = 30_000;

/**
 * Customers kept in that memory before the marks past their trust are swept, at most once a
 * second (a customer whose partition went elsewhere before its report was taken leaves its mark).
 */
const REPORTED_KEPT = 10_000;

/**
 * A write carried out here: when, and the version of the change it captured, which reports it
 * (null: reported by a message of its own).
 */
interface Reported {
  at: number;
  captured: number | null;
}

function forgetOld(reported: Map<string, Map<string, Reported>>): void {
  const before = Date.now() - REPORTED_TRUST_MS;
  for (const [customerId, marks] of reported) {
    for (const [id, { at }] of marks) if (at < before) marks.delete(id);
    if (marks.size === 0) reported.delete(customerId);
  }
}

export function stepEffects(d: StepEffectsDeps): StepEffects {
  /**
   * Per customer, the writes carried out and reported here whose report the actor has yet to take.
   * A step decided before it (the write's own captured change, published as soon as it commits,
   * often is) still lists the write as waiting: it is not carried out again, which cost a
   * statement and a publish for nothing.
   */
  const reported = new Map<string, Map<string, Reported>>();
  let sweptAt = 0;

  async function applyPending(
    customerId: string,
    snapshot: CustomerSnapshot,
    seq: number,
    { again = false } = {},
  ): Promise<void> {
    const { catalogue, record } = d;
    if (!catalogue || !record) return;
    const pending = pendingApplies(snapshot);
    const mine = reported.get(customerId);
    if (mine) {
      for (const mark of mine.keys())
        if (!pending.some((a) => writeTag(a) === mark)) mine.delete(mark);
      if (mine.size === 0) reported.delete(customerId);
    }
    const seenVersion = snapshot.context.desired?.version ?? 0;
    for (const apply of pending) {
      const mark = mine?.get(writeTag(apply));
      // Its captured change is in, yet the write still waits: that change came without the tag
      // (published by an rtws from before tags, during a rolling upgrade). Reported now instead.
      const untagged = mark !== undefined && mark.captured !== null && seenVersion >= mark.captured;
      if (!again && mark && !untagged && Date.now() - mark.at < REPORTED_TRUST_MS) continue;
      let error: string | null = null;
      let version: number | null = null;
      let kept: FieldPatch = {};
      let captured = false;
      try {
        ({ version, kept, captured } = await catalogue.applyFromStripe(customerId, apply));
      } catch (err) {
        if (!(err instanceof PermanentApplyError)) throw err;
        error = err.message;
        await d.deadLetters.publish({
          source: REFUSED_WRITES,
          stream: d.names.streams.changes,
          streamSeq: seq,
          subject: d.names.customerSubject(customerId),
          reason: `postgres refused the change from Stripe (${apply.eventIds.join(', ')}): ${error}`,
          deliveries: 1,
          data: encoder.encode(JSON.stringify(apply)),
          correlationId: apply.correlationId,
          // A step may refuse several writes, and a resume (sequence 0) those of many customers,
          // whose write tags may be alike.
          key: `${customerId}/${writeTag(apply)}`,
        });
      }
      // The captured change reports the write. Fields it kept are reported at once as well: until
      // that change is in, they count as Postgres's own values, not the ones the write set.
      const reports = captured && Object.keys(kept).length === 0;
      if (!reports)
        await record(customerId, {
          type: 'CatalogueApplied',
          data: {
            intentId: apply.id,
            version,
            ...(Object.keys(kept).length > 0 ? { kept } : {}),
            error,
          },
          at: Date.now(),
          ...(apply.correlationId === undefined ? {} : { correlation: apply.correlationId }),
        });
      const marks = reported.get(customerId) ?? new Map<string, Reported>();
      const done = { at: Date.now(), captured: reports ? version : null };
      reported.set(customerId, marks.set(writeTag(apply), done));
      if (reported.size > REPORTED_KEPT && Date.now() - sweptAt > 1_000) {
        sweptAt = Date.now();
        forgetOld(reported);
      }
    }
  }

  const effects = async (step: StepDone): Promise<void> => {
    const { actorId: customerId, event, decision, saved, seq } = step;
    d.scheduler.offer(customerId, decision.snapshot);
    // Also when the step changed nothing: a redelivery after a failed write does it now.
    await applyPending(customerId, decision.snapshot, seq);
    const targets = decision.snapshot.context.targets as Partial<
      Record<TargetName, { externalId: string | null; lastError: { reason: string } | null }>
    >;
    // The link is recorded also when the step changed nothing: the outcome may be in the actor's
    // snapshot while its link is not in Postgres, the step having been saved before a crash or a
    // failed insert (tried again in hand) kept the link out. Nothing else writes it later, and the
    // customer's invoices wait for it. The snapshot's link is recorded, not the event's.
    // And a link a Salesforce read made: it showed our create landed before its outcome came;
    // delivered again, or tried again in hand, the read changes nothing, and its link is the
    // snapshot's. (Other events that link write their link with the Postgres write they ask for.)
    // A redelivery writes only its own target's: another's link may have been archived since.
    const linking = relinks(event)
      ? saved
        ? TARGET_NAMES
        : linkedBy(event)
      : event.type === 'SalesforceRecordChanged'
        ? saved
          ? decision.linked
          : (['salesforce'] as const)
        : [];
    if (d.catalogue) {
      for (const t of linking) {
        const externalId = targets[t]?.externalId;
        if (externalId) await d.catalogue.recordLink(customerId, t, externalId);
      }
    }
    // A target that gave up leaves its letter, also when a redelivery, or a try again in hand,
    // finds the step saved already: the process may have died, or the publish failed, between the
    // save and the letter, and the step, changing nothing now, announces nothing. The letter's id
    // (this message and its target) makes a second publish a no-op, within the DLQ's dedupe window
    // and, past it, by the worker's letter ledger.
    const letters = saved ? decision.deadLettered : gaveUpOn(event, decision.snapshot);
    for (const t of letters) {
      const retry = encodeRecordedEvent(customerId, {
        type: 'RetryRequested',
        data: { target: t },
        at: 0,
      });
      await d.deadLetters.publish({
        source: 'targets',
        stream: d.names.streams.changes,
        streamSeq: seq,
        subject: d.names.customerSubject(customerId),
        reason: `${t}: ${targets[t]?.lastError?.reason ?? 'gave up'}`,
        deliveries: 1,
        data: encoder.encode(JSON.stringify(retry)),
        correlationId: event.correlation,
        key: t,
      });
    }
  };
  return Object.assign(effects, {
    resume: (customerId: string, snapshot: CustomerSnapshot) =>
      applyPending(customerId, snapshot, 0, { again: true }),
  });
}
