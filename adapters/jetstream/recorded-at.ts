import type { JsMsg } from '@nats-io/jetstream';

/**
 * When the stream stored the message, in ms: the `at` of the event it carries. The live consumer
 * and every rebuild compute it the same way, so both hand the actor the same instant.
 */
export function recordedAt(m: JsMsg): number {
  return Math.floor(m.info.timestampNanos / 1e6);
}
