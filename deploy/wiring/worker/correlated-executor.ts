// An executor that keeps a call's correlation: the call runs in a scope that puts the intent's
// correlation id on its log lines (every Stripe response is logged with it), and its outcome is
// recorded back with it, in the message's header, so the change's id finds the call and its outcome.
import type { Logger } from '../../../core/ports.ts';
import type { TargetName } from '../../../actors/customer/index.ts';
import type { CustomerExecutor } from '../../../actors/customer/kind.ts';
import { inCallScope, type CallScope } from '../../../adapters/stripe/call-log.ts';

/**
 * `log`: where a target without a per-request log of its own (Salesforce: its calls are batched
 * across customers, and it sends no request id to log) logs each intent it carried out.
 */
export function correlatedExecutor(
  target: TargetName,
  executor: CustomerExecutor,
  log?: Logger,
): CustomerExecutor {
  return {
    limits: executor.limits,
    async execute(customerId, intent, call) {
      const { correlationId } = intent;
      const scope: CallScope = {
        ...(correlationId === undefined ? {} : { correlation_id: correlationId }),
        customer_id: customerId,
        intent_id: intent.id,
      };
      const outcome = await inCallScope(scope, () => executor.execute(customerId, intent, call));
      log?.info({ ...scope, op: intent.op, outcome: outcome.type }, `${target} call`);
      return correlationId === undefined ? outcome : { ...outcome, correlation: correlationId };
    },
  };
}
