// The invoice actor as the runtime runs it, on the INVOICES stream. Its snapshot is stored like a
// customer's: `{ machineVersion, snapshot }`, checked when read back.
import { Value } from '@sinclair/typebox/value';
import {
  decideInvoice,
  invoiceMachine,
  INVOICE_MACHINE_VERSION,
  InvoiceStateSchema,
  parseInvoiceMessage,
  persistInvoice,
  restoreInvoice,
  startInvoice,
  type InvoiceDecision,
  type InvoiceEvent,
  type InvoiceMachine,
  type InvoiceSnapshot,
} from '../invoice/index.ts';
import type { ActorKind } from './actor-kind.ts';
import { SnapshotFormatError } from './errors.ts';
import type { StoredActor } from './snapshot-codec.ts';

export type InvoiceKind = ActorKind<InvoiceSnapshot, InvoiceEvent, InvoiceDecision>;

export function invoiceKind(machine: InvoiceMachine = invoiceMachine): InvoiceKind {
  return {
    source: 'invoices',
    parse: parseInvoiceMessage,
    start: (id) => startInvoice(id, machine),
    decide: (snapshot, event) => decideInvoice(snapshot, event, machine),
    encode: (snapshot): StoredActor => ({
      machineVersion: INVOICE_MACHINE_VERSION,
      snapshot: persistInvoice(snapshot, machine),
    }),
    decode: (id, stored) => decodeInvoice(id, stored, machine),
    // Before its request is seen an invoice has no customer; it then has nothing to run either.
    ownerOf: (id, snapshot) => snapshot.context.request?.customer_id ?? id,
  };
}

function decodeInvoice(id: string, value: unknown, machine: InvoiceMachine): InvoiceSnapshot {
  const stored = value as Partial<StoredActor> | null;
  if (typeof stored !== 'object' || stored === null)
    throw new SnapshotFormatError(id, 'not an object');
  if (stored.machineVersion !== INVOICE_MACHINE_VERSION) {
    throw new SnapshotFormatError(
      id,
      `machine version ${String(stored.machineVersion)}, expected ${INVOICE_MACHINE_VERSION}`,
    );
  }
  const context = (stored.snapshot as { context?: { invoiceId?: unknown } } | undefined)?.context;
  if (!context || context.invoiceId !== id)
    throw new SnapshotFormatError(id, 'context missing or for another actor');
  if (!Value.Check(InvoiceStateSchema, context))
    throw new SnapshotFormatError(id, 'invoice state is malformed');
  return restoreInvoice(stored.snapshot, machine);
}
