// What a step means beyond the actor's snapshot, done before its message is acked (each effect is
// idempotent, so a redelivery repeats them harmlessly):
// - the executors are offered the snapshot's pending intents;
// - a new link to a target's object is recorded in Postgres;
// - a target that gave up leaves a DLQ letter whose redrive asks the actor to retry it;
// - a customer deleted on a target is deleted here, with that target as its origin.
import type { DeadLetterSink } from '../../core/worker-ports.ts';
import type { Names } from '../../core/subjects.ts';
import { TARGET_NAMES, type TargetName } from '../../actors/customer/index.ts';
import type { IntentScheduler } from '../../actors/runtime/intent-scheduler.ts';
import { encodeRecordedEvent } from '../../actors/runtime/outcome-message.ts';
import type { StepDone } from './fact-handler.ts';

export interface CatalogueEffects {
  recordLink(customerId: string, target: TargetName, externalId: string): Promise<void>;
  deleteFromTarget(customerId: string, target: TargetName): Promise<void>;
}

export interface StepEffectsDeps {
  readonly scheduler: IntentScheduler;
  readonly deadLetters: DeadLetterSink;
  readonly names: Names;
  readonly catalogue?: CatalogueEffects;
}

const LINKING = /(Created|Found)$/;
const encoder = new TextEncoder();

export function stepEffects(d: StepEffectsDeps) {
  return async ({ actorId: customerId, event, decision, saved, seq }: StepDone): Promise<void> => {
    d.scheduler.offer(customerId, decision.snapshot);
    if (!saved) return;
    const targets = decision.snapshot.context.targets as Partial<
      Record<TargetName, { externalId: string | null; lastError: { reason: string } | null }>
    >;
    if (d.catalogue && LINKING.test(event.type)) {
      for (const t of TARGET_NAMES) {
        const externalId = targets[t]?.externalId;
        if (externalId) await d.catalogue.recordLink(customerId, t, externalId);
      }
    }
    for (const t of decision.deadLettered) {
      const retry = encodeRecordedEvent(customerId, { type: 'RetryRequested', target: t, at: 0 });
      await d.deadLetters.publish({
        source: 'targets',
        stream: d.names.streams.changes,
        streamSeq: seq,
        subject: d.names.customerSubject(customerId),
        reason: `${t}: ${targets[t]?.lastError?.reason ?? 'gave up'}`,
        deliveries: 1,
        data: encoder.encode(JSON.stringify(retry)),
      });
    }
    for (const t of decision.deletedRemotely) await d.catalogue?.deleteFromTarget(customerId, t);
  };
}
