// The invoice actor as the runtime runs it, on the INVOICES stream. Its snapshot is stored like a
// customer's: `{ machineVersion, snapshot }`, checked when read back.
import { Value } from '@sinclair/typebox/value';
import type { ActorKind } from '../runtime/actor-kind.ts';
import { SnapshotFormatError } from '../runtime/errors.ts';
import type { IntentScheduler, TargetExecutor } from '../runtime/intent-scheduler.ts';
import { unwrapStored, type StoredActor } from '../runtime/stored-actor.ts';
import {
  checkInvoiceMessage,
  decideInvoice,
  invoiceMachine,
  INVOICE_MACHINE_VERSION,
  OLDER_INVOICE_MACHINE_VERSIONS,
  InvoiceStateSchema,
  pendingInvoiceIntents,
  persistInvoice,
  restoreInvoice,
  startInvoice,
  type InvoiceDecision,
  type InvoiceEvent,
  type InvoiceIntent,
  type InvoiceMachine,
  type InvoiceRecordedEvent,
  type InvoiceSnapshot,
  type InvoiceTarget,
} from './index.ts';

export type InvoiceKind = ActorKind<
  InvoiceSnapshot,
  InvoiceEvent,
  InvoiceDecision,
  InvoiceTarget,
  InvoiceIntent
>;

/** Runs an invoice's intents on one target; what it reports is recorded on the invoice's subject. */
export type InvoiceExecutor = TargetExecutor<InvoiceIntent, InvoiceRecordedEvent>;

export type InvoiceScheduler = IntentScheduler<
  InvoiceSnapshot,
  InvoiceTarget,
  InvoiceIntent,
  InvoiceRecordedEvent
>;

export function invoiceKind(machine: InvoiceMachine = invoiceMachine): InvoiceKind {
  return {
    source: 'invoices',
    check: checkInvoiceMessage,
    start: (id) => startInvoice(id, machine),
    decide: (snapshot, event) => decideInvoice(snapshot, event, machine),
    encode: (snapshot): StoredActor => ({
      machineVersion: INVOICE_MACHINE_VERSION,
      snapshot: persistInvoice(snapshot, machine),
    }),
    decode: (id, stored) => decodeInvoice(id, stored, machine),
    // Before its request is seen an invoice has no customer; it then has nothing to run either.
    ownerOf: (id, snapshot) =>
      snapshot.context.request?.customer_id ?? snapshot.context.customerId ?? id,
    pending: pendingInvoiceIntents,
    // A dead letter is published by the step's effects: once, from a saved step.
    mustSave: (decision) => decision.deadLettered,
    settled: (snapshot) => pendingInvoiceIntents(snapshot).length === 0,
  };
}

function decodeInvoice(id: string, value: unknown, machine: InvoiceMachine): InvoiceSnapshot {
  const snapshot = unwrapStored(id, value, INVOICE_MACHINE_VERSION, OLDER_INVOICE_MACHINE_VERSIONS);
  const context = (snapshot as { context?: { invoiceId?: unknown } } | undefined)?.context;
  if (!context || context.invoiceId !== id)
    throw new SnapshotFormatError(id, 'context missing or for another actor');
  if (!Value.Check(InvoiceStateSchema, context))
    throw new SnapshotFormatError(id, 'invoice state is malformed');
  return restoreInvoice(snapshot, machine);
}
