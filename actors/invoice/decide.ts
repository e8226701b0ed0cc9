// The runtime's view of the invoice machine: pure functions over snapshots.
import type { SnapshotFrom } from 'xstate';
import { persistedAsIs } from '../runtime/persisted-snapshot.ts';
import { pureInitialTransition, pureTransition } from '../runtime/pure-transition.ts';
import type { InvoiceEvent } from './events.ts';
import type { InvoiceIntent } from './intents.ts';
import { invoiceMachine, type InvoiceMachine } from './machine.ts';
import type { InvoiceState } from './context.ts';

export type InvoiceSnapshot = SnapshotFrom<InvoiceMachine>;

/** What issuing has reached, as Postgres records it (`recordInvoiceProgress`). */
export interface InvoiceProgress {
  status: 'draft' | 'open' | 'failed' | 'void';
  stripeInvoiceId: string | null;
  number: string | null;
  hostedInvoiceUrl: string | null;
  error: string | null;
  /** The history note of a void: how it ended. */
  note?: string;
}

/** What one event decided, besides the next snapshot. */
export interface InvoiceDecision {
  snapshot: InvoiceSnapshot;
  /** The intent recorded or rescheduled by this event, for the executors to pick up. */
  intents: InvoiceIntent[];
  /** True when the invoice just failed: the runtime writes its DLQ entry from `lastError`. */
  deadLettered: boolean;
  /** Set when issuing moved on (drafted, finalized, failed): the runtime records it in Postgres. */
  progress: InvoiceProgress | null;
}

export function startInvoice(invoiceId: string, machine = invoiceMachine): InvoiceSnapshot {
  return pureInitialTransition(machine, { invoiceId })[0];
}

export function decideInvoice(
  snapshot: InvoiceSnapshot,
  event: InvoiceEvent,
  machine = invoiceMachine,
): InvoiceDecision {
  const [decided, actions] = pureTransition(machine, snapshot, event);
  const next = { ...decided, context: stampCorrelation(snapshot.context, decided.context, event) };
  const was = progressOf(snapshot.context);
  const now = progressOf(next.context);
  return {
    snapshot: next,
    intents: changedIntent(snapshot.context, next.context),
    deadLettered: actions.some((a) => a.type === 'deadLetter'),
    progress: now !== null && JSON.stringify(now) !== JSON.stringify(was) ? now : null,
  };
}

export function progressOf(s: InvoiceState): InvoiceProgress | null {
  const known = {
    stripeInvoiceId: s.stripeInvoiceId,
    number: s.number,
    hostedInvoiceUrl: s.hostedInvoiceUrl,
  };
  if (s.status === 'voided')
    return { status: 'void', ...known, error: null, note: 'voided in Stripe' };
  if (s.status === 'cancelled')
    return {
      status: 'void',
      ...known,
      error: null,
      note:
        s.stripeInvoiceId === null
          ? 'cancelled before it was issued: never created in Stripe'
          : `cancelled before it was issued: its draft ${s.stripeInvoiceId} was deleted in Stripe`,
    };
  if (s.status === 'failed')
    return { status: 'failed', ...known, error: s.lastError?.reason ?? 'failed' };
  if (s.stripeStatus !== null) return { status: 'open', ...known, error: null };
  if (s.stripeInvoiceId !== null) return { status: 'draft', ...known, error: null };
  return null;
}

/** The snapshot as plain JSON, for KV. */
export function persistInvoice(snapshot: InvoiceSnapshot, machine = invoiceMachine): unknown {
  return persistedAsIs(machine, snapshot);
}

/** A snapshot loaded from KV; the caller validates its context first. */
export function restoreInvoice(persisted: unknown, machine = invoiceMachine): InvoiceSnapshot {
  return machine.resolveState(persisted as Parameters<InvoiceMachine['resolveState']>[0]);
}

/** Rebuilds an invoice's actor state from its recorded events, calling nothing outside. */
export function replayInvoice(
  invoiceId: string,
  events: Iterable<InvoiceEvent>,
  machine = invoiceMachine,
): InvoiceSnapshot {
  let snapshot = startInvoice(invoiceId, machine);
  for (const event of events) snapshot = decideInvoice(snapshot, event, machine).snapshot;
  return snapshot;
}

/** The pending intent and when it is due: the executor's input. */
export interface DueInvoiceIntent {
  target: InvoiceIntent['target'];
  intent: InvoiceIntent;
  dueAt: number;
}

export function pendingInvoiceIntents(snapshot: InvoiceSnapshot): DueInvoiceIntent[] {
  const p = snapshot.context.pending;
  return p === null ? [] : [{ target: p.target, intent: p, dueAt: p.notBefore }];
}

/**
 * A new intent serves the request that caused it: the invoice's request or its void's; after an
 * outcome, the next step of issuing serves what the finished call served. From the recorded
 * events only, so a rebuild stamps the same (see actors/customer/correlation.ts).
 */
function stampCorrelation(
  before: InvoiceState,
  after: InvoiceState,
  event: InvoiceEvent,
): InvoiceState {
  const p = after.pending;
  if (p === null || p.id === before.pending?.id) return after;
  const asked = event.type === 'InvoiceRequested' || event.type === 'InvoiceVoidRequested';
  const correlationId = asked
    ? event.correlation
    : (before.pending?.correlationId ?? event.correlation);
  return correlationId === undefined ? after : { ...after, pending: { ...p, correlationId } };
}

function changedIntent(before: InvoiceState, after: InvoiceState): InvoiceIntent[] {
  const was = before.pending;
  const now = after.pending;
  if (now === null) return [];
  if (was && was.id === now.id && was.attempt === now.attempt && was.notBefore === now.notBefore)
    return [];
  return [now];
}
