// What an invoice actor's step means beyond its snapshot, done before its message is acked (each
// effect is idempotent, so a redelivery repeats them harmlessly):
// - the executors are offered the snapshot's pending intent;
// - issuing progress (drafted, finalized, failed) is recorded in Postgres;
// - an invoice that failed leaves a DLQ letter whose redrive asks the actor to try again (both
//   again when a redelivery finds the step already in the snapshot).
import type { DeadLetterSink } from '../../../core/worker-ports.ts';
import type { Names } from '../../../core/subjects.ts';
import {
  encodeInvoiceEvent,
  progressOf,
  type InvoiceDecision,
  type InvoiceEvent,
  type InvoiceProgress,
  type InvoiceSnapshot,
} from '../../../actors/invoice/index.ts';
import type { StepDone } from '../worker/fact-handler.ts';

export interface InvoiceEffects {
  /** Records how far issuing got; forward-only and idempotent on the catalogue's side. */
  recordProgress(invoiceId: string, progress: InvoiceProgress): Promise<void>;
}

export interface InvoiceStepDeps {
  readonly offer: (invoiceId: string, snapshot: InvoiceSnapshot) => void;
  readonly deadLetters: DeadLetterSink;
  readonly names: Names;
  readonly effects?: InvoiceEffects;
}

const encoder = new TextEncoder();

/** Whether this failure report is the one the invoice gave up on, with no later step since. */
function gaveUpOn(event: InvoiceEvent, context: InvoiceSnapshot['context']): boolean {
  return (
    event.type === 'InvoiceCallFailed' &&
    context.status === 'failed' &&
    context.lastError?.intent.id === event.data.intentId &&
    context.lastError.at === event.at
  );
}

export function invoiceStepEffects(d: InvoiceStepDeps) {
  return async (step: StepDone<InvoiceEvent, InvoiceDecision>): Promise<void> => {
    const { actorId: invoiceId, event, decision, saved, seq } = step;
    d.offer(invoiceId, decision.snapshot);
    const context = decision.snapshot.context;
    // A step that changed nothing may be the redelivery of one whose write failed: write again.
    const progress = saved ? decision.progress : progressOf(context);
    if (progress) await d.effects?.recordProgress(invoiceId, progress);
    // Its letter too, on a redelivery: the process may have died, or the publish failed, between
    // the save of the step that gave the invoice up and its letter. The letter's id (this
    // message's sequence) makes a second publish a no-op, within the DLQ's dedupe window and, past
    // it, by the worker's letter ledger.
    const gaveUp = saved ? decision.deadLettered : gaveUpOn(event, context);
    // An invoice created in Stripe has no request: its void named the customer.
    const customerId = context.request?.customer_id ?? context.customerId;
    if (gaveUp && customerId) {
      const retry = encodeInvoiceEvent(invoiceId, customerId, {
        type: 'InvoiceRetryRequested',
        data: {},
        at: 0,
      });
      await d.deadLetters.publish({
        source: 'invoices',
        stream: d.names.streams.invoices,
        streamSeq: seq,
        subject: d.names.invoiceSubject(invoiceId, customerId),
        reason: `${context.lastError?.intent.type ?? 'issuing'}: ${context.lastError?.reason ?? 'gave up'}`,
        deliveries: 1,
        data: encoder.encode(JSON.stringify(retry)),
        correlationId: event.correlation,
        // Its target, as a customer's step names its own: apart from a letter of the whole message.
        key: 'stripe',
      });
    }
  };
}
