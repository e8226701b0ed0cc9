// What the machine needs to know about a target. The machine's logic is the same for every
// target; a target contributes its names, its keys and the mapping of its outcome events.
import type { IntentOp } from './intents.ts';
import type { TargetOutcome } from './outcomes.ts';
import type { MachineEvent } from './events.ts';

export interface TargetSpec {
  /** The region and context key, e.g. `stripe`. */
  readonly target: string;
  /** The event types that carry this target's outcomes. */
  readonly outcomeTypes: readonly string[];
  /** The intent type for an operation, e.g. `CreateStripeCustomer`. */
  intentType(op: IntentOp): string;
  /** The create key for the n-th create (1-based); null where the target needs none. */
  createKey(customerId: string, n: number): string | null;
  /**
   * The update key for a version, attempt and round (the n-th push of one version); null where the
   * target needs none.
   */
  updateKey(customerId: string, version: number, attempt: number, round: number): string | null;
  /** This target's outcome in neutral form, or null when the event is not one of its outcomes. */
  outcomeOf(event: MachineEvent): TargetOutcome | null;
  /**
   * The create is an upsert keyed by our customer id, so resending it can never make a second
   * object: a create that may have landed is resent as it is, with no lookup first. Unset: false.
   */
  readonly createIsUpsert?: boolean;
  /**
   * On this target `rate_limited` means its API budget is spent (Salesforce's daily quota): the
   * target is `paused`, for the outcome's `retryAfterMs` when it names one and this long
   * otherwise, and the pause never counts towards giving up. Unset: a rate limit is an ordinary
   * wait in `retrying`.
   */
  readonly quotaPauseMs?: number;
  /**
   * The object can be read back (a fetch): a 404 on an update is confirmed that way, deleted or a
   * broken link. Unset: such a 404 is a broken link at once.
   */
  readonly confirmsByFetch?: boolean;
}
