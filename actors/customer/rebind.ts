// An operator rebinds a target to another account: what the actor knew about the old account (the
// link, the values held there, pending intents, watermarks, the Stripe events it saw) no longer
// describes anything, so it is forgotten. Pure, over the persisted snapshot as stored in KV.
import { initialTargetState, type TargetState } from './context.ts';
import { restoreSettled, type InboundState } from './inbound.ts';
import type { TargetName } from './targets.ts';

/** The parts of a persisted customer snapshot this touches. */
export interface PersistedCustomer {
  value?: unknown;
  context: {
    targets: Record<string, TargetState>;
    inbound?: InboundState;
  } & Record<string, unknown>;
}

export function forgetTargetAccount<P extends PersistedCustomer>(
  persisted: P,
  target: TargetName,
): P {
  const before = persisted.context.targets[target];
  if (before === undefined || before.status === 'off') return persisted;
  // Intent ids keep counting, so an outcome recorded for an old intent can never match a new one.
  const reset: TargetState = { ...initialTargetState('new'), intentSeq: before.intentSeq };
  const value =
    typeof persisted.value === 'object' && persisted.value !== null && target in persisted.value
      ? { ...persisted.value, [target]: 'new' }
      : persisted.value;
  const inbound = persisted.context.inbound;
  return {
    ...persisted,
    value,
    context: {
      ...persisted.context,
      targets: { ...persisted.context.targets, [target]: reset },
      // The Postgres writes it still owes stay; what it saw of the old account goes.
      ...(target === 'stripe' && inbound
        ? { inbound: { ...restoreSettled(inbound), seen: [], fetch: null } }
        : {}),
    },
  };
}
