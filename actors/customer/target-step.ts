// A target's reaction to the two events that are not outcomes: a newer desired content, and an
// operator's request to retry.
import type { TargetState } from './context.ts';
import { reopen } from './failure-step.ts';
import { plan, type TargetEnv } from './plan.ts';

/**
 * A newer desired content: a failed target tries again; one with an intent in flight picks it up
 * afterwards. A target switched on since waits for the customer's next catalogue change, or an
 * export: a Stripe event that changed nothing (our own create's echo, listed by a catch-up) is no
 * reason to push a row that existed before the target (RTWS_AUTO_EXPORT=false promises as much).
 */
export function onDesiredChanged(
  t: TargetState,
  env: TargetEnv,
  at: number,
  fromCatalogue: boolean,
): TargetState {
  if (t.status === 'deleted') return t;
  if (t.status === 'off' && !fromCatalogue) return t;
  return plan(reopen(switchedOn(t)), env, at);
}

/**
 * Only a machine with the target's region gets here, so a target recorded as `off` by a machine
 * without it has been switched on since: it starts from scratch.
 */
function switchedOn(t: TargetState): TargetState {
  return t.status === 'off' ? { ...t, status: 'new' } : t;
}

/**
 * A failed target plans again; a waiting retry, or a paused target (its budget restored), becomes
 * due now, with its failure count reset; a new or synced target plans (a resync).
 */
export function onRetryRequested(t: TargetState, env: TargetEnv, at: number): TargetState {
  if (t.status === 'failed') return plan(reopen(t), env, at);
  // Only a person says a broken link is worth trying again (after a rebind, say).
  if (t.status === 'unlinked') return plan({ ...t, status: 'synced' }, env, at);
  // A resync: a target never asked (switched on, or rebound) is offered the customer now; a
  // synced one pushes whatever differs from what it is known to hold.
  if (t.status === 'off' || t.status === 'new' || t.status === 'synced')
    return plan(switchedOn(t), env, at);
  if ((t.status === 'retrying' || t.status === 'paused') && t.pending !== null) {
    return { ...t, attempts: 0, pending: { ...t.pending, notBefore: at, failures: 0 } };
  }
  return t;
}
