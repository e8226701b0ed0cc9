// The customer actor: one parallel region per target. The machine only records decisions in its
// context (intents with their keys and parameters); executors act on them and report back with
// outcome events. It performs no IO and reads no clock.
import { assign, raise, setup } from 'xstate';
import type { FieldOwners } from '../../core/policy/merge.ts';
import { initialTargetState, type Desired, type TargetState } from './context.ts';
import { initialInboundState, restoreSettled, type InboundState } from './inbound.ts';
import {
  effectiveDesired,
  onCatalogueApplied,
  onStripeFetched,
  onStripeMatched,
  onStripeObserved,
  onWriteSeen,
  pruneApplies,
} from './inbound-step.ts';
import { acceptsFact, desiredFrom } from './desired.ts';
import type { CustomerFactEvent, MachineEvent } from './events.ts';
import { acceptsOutcome, applyOutcome, restoredRtwsId } from './outcome-step.ts';
import { DEFAULT_POLICIES, type Policies, type TargetEnv } from './plan.ts';
import { targetRegion } from './region.ts';
import { isBehindFact, onBehindFact, onRowObserved } from './restore.ts';
import { onSalesforceHeld, onSalesforceMissing } from './salesforce-drift.ts';
import {
  onSalesforceAdopted,
  onSalesforceChanged,
  rememberSalesforceWrite,
} from './salesforce-inbound.ts';
import { onDesiredChanged, onRetryRequested } from './target-step.ts';
import { TARGET_NAMES, TARGETS, type TargetName } from './targets.ts';

/** Stamped into every snapshot; bump it when the context's shape or meaning changes. */
export const MACHINE_VERSION = 2;

export interface CustomerContext {
  machineVersion: number;
  customerId: string;
  desired: Desired | null;
  targets: Record<TargetName, TargetState>;
  /** What the actor keeps about changes seen on Stripe. */
  inbound: InboundState;
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
  /** Systems of record per field (RTWS_FIELD_OWNERS); default: the latest change wins. */
  readonly owners?: FieldOwners;
}

export const DEFAULT_TARGETS: readonly TargetName[] = Object.freeze(['stripe']);

function envOf(context: CustomerContext, target: TargetName, policies: Policies): TargetEnv {
  const fetch = target === 'stripe' ? context.inbound.fetch : null;
  return {
    customerId: context.customerId,
    // A Postgres write the actor asked for counts as done: its values are never pushed back.
    desired: effectiveDesired(context),
    spec: TARGETS[target],
    fetchFor: fetch?.eventIds ?? null,
    ...(fetch?.notBefore !== undefined ? { fetchNotBefore: fetch.notBefore } : {}),
    restoreRtwsId: target === 'stripe' && context.inbound.restoreRtwsId,
    restoreLater: target === 'stripe' && context.inbound.restoreLater === true,
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

/**
 * A call in flight or a deletion: a retry request changes nothing. (An `off` target in a region is
 * one switched on since: a resync or an export offers it the customer.)
 */
const NOT_RETRYABLE: ReadonlySet<TargetState['status']> = new Set(['pending', 'deleted']);

const factHandler = [
  { guard: 'isNewFact', actions: ['recordDesired', 'announceFact'] },
  /** A fact from a restored catalogue, behind what the actor knows: the row is brought forward. */
  { guard: 'isBehindFact', actions: ['applyRestore'] },
] as const;
/** Then every region re-plans (a fetch, a push of what Postgres won) and settles its state. */
const inboundHandler = {
  guard: 'stripeIsOn',
  actions: ['applyInbound', 'announceDesired', 'reroute'],
} as const;

/** A Postgres write asked for by either side that sends changes back. */
const appliedHandler = {
  guard: 'readsBack',
  actions: ['applyInbound', 'announceDesired', 'reroute'],
} as const;

/** A change read from Salesforce: merged like Stripe's, then every region re-plans. */
const salesforceChange = {
  guard: 'salesforceIsOn',
  actions: ['applySalesforceChange', 'announceDesired', 'reroute'],
} as const;

/** Then every region re-plans (a push of what the record lacks, a create) and settles. */
const salesforceDrift = {
  guard: 'salesforceIsOn',
  actions: ['applySalesforceDrift', 'announceDesired', 'reroute'],
} as const;

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
      isBehindFact: ({ context, event }) =>
        isFact(event) && isBehindFact(context.customerId, context.desired, event),
      isOwnOutcome: ({ context, event }, { target }: TargetParams) => {
        const outcome = TARGETS[target].outcomeOf(event);
        return outcome !== null && acceptsOutcome(context.targets[target], outcome);
      },
      isRetryFor: ({ context, event }, { target }: TargetParams) =>
        event.type === 'RetryRequested' &&
        event.data.target === target &&
        !NOT_RETRYABLE.has(context.targets[target].status),
      isLive: ({ context }, { target }: TargetParams) =>
        context.targets[target].status !== 'deleted',
      stripeIsOn: () => on.has('stripe'),
      salesforceIsOn: () => on.has('salesforce'),
      readsBack: () => on.has('stripe') || on.has('salesforce'),
      isDeletedRemotely: ({ context }, { target }: TargetParams) =>
        context.targets[target].deletedRemotely,
      statusIs: (
        { context },
        { target, status }: TargetParams & { status: TargetState['status'] },
      ) => context.targets[target].status === status,
    },
    actions: {
      recordDesired: assign(({ context, event }) =>
        isFact(event)
          ? pruneApplies(
              onWriteSeen({ ...context, desired: desiredFrom(event, context.desired) }, event),
            )
          : {},
      ),
      planTarget: assign(({ context, event }, { target }: TargetParams) =>
        withTarget(
          context,
          target,
          onDesiredChanged(
            context.targets[target],
            envOf(context, target, policies),
            event.at,
            event.type === 'DesiredChanged' && event.fromCatalogue,
          ),
        ),
      ),
      applyOutcome: assign(({ context, event }, { target }: TargetParams) => {
        const outcome = TARGETS[target].outcomeOf(event);
        if (outcome === null) return {};
        const restored = restoredRtwsId(context.targets[target], outcome);
        const next = restored ? { ...context, inbound: restoreSettled(context.inbound) } : context;
        const applied: CustomerContext = {
          ...context,
          ...withTarget(
            next,
            target,
            applyOutcome(next.targets[target], envOf(next, target, policies), outcome),
          ),
          inbound: next.inbound,
        };
        // What our write left in Salesforce, so that its echo is known when it is read back, and
        // when it landed, so that a read sent before then is not taken for newer.
        if (target !== 'salesforce' || (outcome.kind !== 'created' && outcome.kind !== 'updated'))
          return applied;
        const { pending, superseded = [] } = context.targets.salesforce;
        const intent = [pending, ...superseded.map((s) => s.update)].find(
          (i) => i?.id === outcome.intentId,
        );
        return rememberSalesforceWrite(applied, intent ? { intent, at: outcome.at } : undefined);
      }),
      applyInbound: assign(({ context, event }) => {
        if (event.type === 'StripeCustomerObserved')
          return onStripeObserved(context, event, options.owners);
        if (event.type === 'StripeCustomerFetched')
          return onStripeFetched(context, event, options.owners);
        if (event.type === 'StripeCustomerMatched') return onStripeMatched(context, event);
        if (event.type === 'CatalogueApplied') return onCatalogueApplied(context, event);
        return {};
      }),
      applyRestore: assign(({ context, event }) => {
        if (isFact(event)) return onBehindFact(onWriteSeen(context, event), event);
        if (event.type === 'CatalogueRowObserved') return onRowObserved(context, event);
        return {};
      }),
      applySalesforceChange: assign(({ context, event }) => {
        if (event.type === 'SalesforceRecordChanged')
          return onSalesforceChanged(context, event, options.owners);
        if (event.type === 'SalesforceRecordAdopted') return onSalesforceAdopted(context, event);
        return {};
      }),
      applySalesforceDrift: assign(({ context, event }) => {
        if (event.type === 'SalesforceRecordObserved')
          return withTarget(
            context,
            'salesforce',
            onSalesforceHeld(context.targets.salesforce, event),
          );
        if (event.type === 'SalesforceRecordMissing')
          return onSalesforceMissing(context, event, envOf(context, 'salesforce', policies));
        return {};
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
      /** Every region re-plans against the new desired content, in the same step. */
      announceFact: raise(({ event }) => ({
        type: 'DesiredChanged' as const,
        at: event.at,
        fromCatalogue: true,
      })),
      /** The same after a change seen on a target: a target switched on since is left as it is. */
      announceDesired: raise(({ event }) => ({
        type: 'DesiredChanged' as const,
        at: event.at,
        fromCatalogue: false,
      })),
      reroute: raise(({ event }) => ({ type: 'Reroute' as const, at: event.at })),
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
      inbound: initialInboundState(),
    }),
    on: {
      CustomerCreated: factHandler,
      CustomerUpdated: factHandler,
      CustomerDeleted: factHandler,
      StripeCustomerObserved: inboundHandler,
      StripeCustomerFetched: inboundHandler,
      StripeCustomerMatched: inboundHandler,
      CatalogueApplied: appliedHandler,
      SalesforceRecordChanged: salesforceChange,
      SalesforceRecordAdopted: salesforceChange,
      SalesforceRecordObserved: salesforceDrift,
      SalesforceRecordMissing: salesforceDrift,
      CatalogueRowObserved: { actions: ['applyRestore'] },
    },
    states: regions,
  });
}

export type CustomerMachine = ReturnType<typeof createCustomerMachine>;

/** The machine with the default policies. */
export const customerMachine: CustomerMachine = createCustomerMachine();
