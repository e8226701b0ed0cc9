// The customer actor: one parallel region per target. The machine only records decisions in its
// context (intents with their keys and parameters); executors act on them and report back with
// outcome events. It performs no IO and reads no clock.
import { assign, raise, setup } from 'xstate';
import { initialTargetState, type Desired, type TargetState } from './context.ts';
import { acceptsFact, desiredFrom } from './desired.ts';
import type { CustomerFactEvent, MachineEvent } from './events.ts';
import { acceptsOutcome, applyOutcome } from './outcome-step.ts';
import { DEFAULT_POLICIES, type Policies, type TargetEnv } from './plan.ts';
import { targetRegion } from './region.ts';
import { onDesiredChanged, onRetryRequested } from './target-step.ts';
import { TARGET_NAMES, TARGETS, type TargetName } from './targets.ts';

/** Stamped into every snapshot; bump it when the context's shape or meaning changes. */
export const MACHINE_VERSION = 1;

export interface CustomerContext {
  machineVersion: number;
  customerId: string;
  desired: Desired | null;
  targets: Record<TargetName, TargetState>;
}

export interface CustomerInput {
  customerId: string;
}

interface TargetParams {
  target: TargetName;
}

/** Which targets the machine keeps in sync. */
export interface CustomerMachineOptions {
  /**
   * The configured targets. Each gets a region; the others stay `off` in the context, record
   * nothing and have no region. Default: Stripe only, the machine of every snapshot recorded
   * before Salesforce was a target.
   */
  readonly targets?: readonly TargetName[];
}

export const DEFAULT_TARGETS: readonly TargetName[] = Object.freeze(['stripe']);

function envOf(context: CustomerContext, target: TargetName, policies: Policies): TargetEnv {
  return {
    customerId: context.customerId,
    desired: context.desired,
    spec: TARGETS[target],
    ...policies,
  };
}

function withTarget(
  context: CustomerContext,
  target: TargetName,
  next: TargetState,
): Pick<CustomerContext, 'targets'> {
  return { targets: { ...context.targets, [target]: next } };
}

function isFact(event: MachineEvent): event is CustomerFactEvent {
  return (
    event.type === 'CustomerCreated' ||
    event.type === 'CustomerUpdated' ||
    event.type === 'CustomerDeleted'
  );
}

const factHandler = { guard: 'isNewFact', actions: ['recordDesired', 'announceDesired'] } as const;

/**
 * The machine, built with the given policies and targets. Replays must use the policies and
 * targets that decided the recorded events, so a change of either is a change of machine.
 */
export function createCustomerMachine(
  policies: Policies = DEFAULT_POLICIES,
  options: CustomerMachineOptions = {},
) {
  const on = new Set(options.targets ?? DEFAULT_TARGETS);
  const regions = Object.fromEntries(
    TARGET_NAMES.filter((t) => on.has(t)).map((t) => [t, targetRegion(t)]),
  );
  return setup({
    types: {
      context: {} as CustomerContext,
      events: {} as MachineEvent,
      input: {} as CustomerInput,
    },
    guards: {
      isNewFact: ({ context, event }) =>
        isFact(event) && acceptsFact(context.customerId, context.desired, event),
      isOwnOutcome: ({ context, event }, { target }: TargetParams) => {
        const outcome = TARGETS[target].outcomeOf(event);
        return outcome !== null && acceptsOutcome(context.targets[target], outcome);
      },
      isRetryFor: ({ context, event }, { target }: TargetParams) =>
        event.type === 'RetryRequested' &&
        event.target === target &&
        (context.targets[target].status === 'failed' ||
          context.targets[target].status === 'retrying' ||
          context.targets[target].status === 'paused'),
      isLive: ({ context }, { target }: TargetParams) =>
        context.targets[target].status !== 'deleted',
      isDeletedRemotely: ({ context }, { target }: TargetParams) =>
        context.targets[target].deletedRemotely,
      statusIs: (
        { context },
        { target, status }: TargetParams & { status: TargetState['status'] },
      ) => context.targets[target].status === status,
    },
    actions: {
      recordDesired: assign(({ context, event }) =>
        isFact(event) ? { desired: desiredFrom(event, context.desired) } : {},
      ),
      planTarget: assign(({ context, event }, { target }: TargetParams) =>
        withTarget(
          context,
          target,
          onDesiredChanged(context.targets[target], envOf(context, target, policies), event.at),
        ),
      ),
      applyOutcome: assign(({ context, event }, { target }: TargetParams) => {
        const outcome = TARGETS[target].outcomeOf(event);
        if (outcome === null) return {};
        return withTarget(
          context,
          target,
          applyOutcome(context.targets[target], envOf(context, target, policies), outcome),
        );
      }),
      applyRetryRequest: assign(({ context, event }, { target }: TargetParams) =>
        withTarget(
          context,
          target,
          onRetryRequested(context.targets[target], envOf(context, target, policies), event.at),
        ),
      ),
      /** Bound by the runtime: writes the DLQ entry for `context.targets[target].lastError`. */
      deadLetter: (_, _params: TargetParams) => {},
      /** Bound by the runtime: a target deleted the customer remotely; delete it everywhere. */
      propagateRemoteDelete: (_, _params: TargetParams) => {},
      /** Every region re-plans against the new desired content, in the same step. */
      announceDesired: raise(({ event }) => ({ type: 'DesiredChanged' as const, at: event.at })),
    },
  }).createMachine({
    id: 'customer',
    type: 'parallel',
    context: ({ input }) => ({
      machineVersion: MACHINE_VERSION,
      customerId: input.customerId,
      desired: null,
      targets: Object.fromEntries(
        TARGET_NAMES.map((t) => [t, initialTargetState(on.has(t) ? 'new' : 'off')]),
      ) as Record<TargetName, TargetState>,
    }),
    on: {
      CustomerCreated: factHandler,
      CustomerUpdated: factHandler,
      CustomerDeleted: factHandler,
    },
    states: regions,
  });
}

export type CustomerMachine = ReturnType<typeof createCustomerMachine>;

/** The machine with the default policies. */
export const customerMachine: CustomerMachine = createCustomerMachine();
