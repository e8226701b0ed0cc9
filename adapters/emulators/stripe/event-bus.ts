import type { Clock } from './clock.ts';
import type { Emit, EventObject } from './events.ts';
import { newId } from './ids.ts';
import type { EmulatorState } from './state.ts';
import type { WebhookDispatcher } from './webhook-dispatcher.ts';
import { endpointWants } from './webhook-endpoint.ts';

/** Turns state changes into stored events (bounded) and queues their webhook deliveries. */
export function eventEmitter(
  state: EmulatorState,
  clock: Clock,
  dispatcher: WebhookDispatcher,
  maxEvents: () => number,
): Emit {
  return (cause, type, object, previous) => {
    const event: EventObject = {
      id: newId('evt'),
      object: 'event',
      api_version: cause.apiVersion,
      created: clock.nowSeconds(),
      data: previous === undefined ? { object } : { object, previous_attributes: previous },
      livemode: cause.livemode,
      pending_webhooks: 0,
      request: { id: cause.requestId, idempotency_key: cause.idempotencyKey },
      type,
    };
    const targets = [];
    for (const endpoint of state.endpoints.newestFirst())
      if (endpointWants(endpoint, type)) targets.push(endpoint);
    event.pending_webhooks = targets.length === 0 ? 0 : dispatcher.enqueue(event, targets);
    state.events.put(event);
    if (state.events.size > maxEvents()) state.events.trimTo(maxEvents());
  };
}
