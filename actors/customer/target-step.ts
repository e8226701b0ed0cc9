// A target's reaction to the two events that are not outcomes: a newer desired content, and an
// operator's request to retry.
import type { TargetState } from './context.ts';
import { reopen } from './failure-step.ts';
import { plan, type TargetEnv } from './plan.ts';

/** A newer fact: a failed target tries again; one with an intent in flight picks it up afterwards. */
export function onDesiredChanged(t: TargetState, env: TargetEnv, at: number): TargetState {
  if (t.status === 'deleted') return t;
  return plan(reopen(t), env, at);
}

/** A failed target plans again; a waiting retry becomes due now, with its failure count reset. */
export function onRetryRequested(t: TargetState, env: TargetEnv, at: number): TargetState {
  if (t.status === 'failed') return plan(reopen(t), env, at);
  if (t.status === 'retrying' && t.pending !== null) {
    return { ...t, attempts: 0, pending: { ...t.pending, notBefore: at, failures: 0 } };
  }
  return t;
}
