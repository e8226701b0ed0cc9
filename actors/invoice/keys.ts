// Idempotency keys of the invoice steps. Each derives from our invoice id and the step (and the
// item's index), so every resend of a step is the same request; `-a<n>` is added only once a lookup
// proved an earlier try absent (Stripe replays a saved post-commit 500 under its key for 24 h, so
// that key can never succeed again).
import { KEY_PREFIX } from '../customer/keys.ts';

/** `draft`, `item-<i>`, `finalize`, or `void` once a void is asked for. */
export type InvoiceStep = 'draft' | 'finalize' | 'void' | `item-${number}`;

export function itemStep(index: number): InvoiceStep {
  return `item-${index}`;
}

/** `rtws-inv-<invoiceId>-<step>`, then `…-a<round>` from the second round on. */
export function invoiceKey(invoiceId: string, step: InvoiceStep, round: number): string {
  const base = `${KEY_PREFIX}inv-${invoiceId}-${step}`;
  return round <= 1 ? base : `${base}-a${round}`;
}
