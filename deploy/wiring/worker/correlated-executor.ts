// An executor that keeps a call's correlation: the call is given a scope that puts the intent's
// correlation id on its log lines (every Stripe response is logged with it), and its outcome is
// recorded back with it, in the message's header, so the change's id finds the call and its outcome.
// For either kind of actor: `actor` names the log field of its id (`customer_id`, `invoice_id`).
import type { Logger } from '../../../core/ports.ts';
import type { CallContext, TargetExecutor } from '../../../actors/runtime/intent-scheduler.ts';
import type { CallScope } from '../../../adapters/stripe/call-log.ts';

interface CorrelatedIntent {
  readonly id: string;
  readonly correlationId?: string | undefined;
}

/** A target's executor, given the scope of the intent it carries out (for `ScopedStripe.run`). */
export interface ScopedExecutor<I, R> {
  readonly limits: TargetExecutor<I, R>['limits'];
  execute(actorId: string, intent: I, call: CallContext, scope: CallScope): Promise<R>;
}

/**
 * `log`: where a target without a per-request log of its own (Salesforce: its calls are batched
 * across customers, and it sends no request id to log) logs each intent it carried out.
 */
export function correlatedExecutor<I extends CorrelatedIntent, R extends { type: string }>(
  target: string,
  executor: ScopedExecutor<I, R>,
  o: { actor: 'customer_id' | 'invoice_id'; log?: Logger | undefined },
): TargetExecutor<I, R & { correlation?: string }> {
  return {
    limits: executor.limits,
    async execute(actorId, intent, call) {
      const { correlationId } = intent;
      const scope: CallScope = {
        ...(correlationId === undefined ? {} : { correlation_id: correlationId }),
        [o.actor]: actorId,
        intent_id: intent.id,
      };
      const outcome = await executor.execute(actorId, intent, call, scope);
      o.log?.info({ ...scope, outcome: outcome.type }, `${target} call`);
      return correlationId === undefined ? outcome : { ...outcome, correlation: correlationId };
    },
  };
}
