// "A webhook was received", shared with the catch-up, which may run in another process. Postgres
// holds it (every role has it; no new dependency), written at most once per interval per process:
// a burst of deliveries costs one update, and the value is at most an interval late, nothing next
// to a silence threshold of minutes.
import type { Logger } from '../../../core/ports.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import { recordWebhookReceived } from '../../../adapters/postgres/webhook-health.ts';

export interface WebhookHeartbeatOptions {
  readonly sql: Sql;
  readonly log: Logger;
  readonly source?: string;
  /** Default 5 s. */
  readonly everyMs?: number;
  readonly now?: () => number;
}

/** `heard()` after each verified webhook; never throws, never waits. */
export function webhookHeartbeat(o: WebhookHeartbeatOptions): { readonly heard: () => void } {
  const now = o.now ?? Date.now;
  const everyMs = o.everyMs ?? 5_000;
  let last = -Infinity;
  return {
    heard: () => {
      const at = now();
      if (at - last < everyMs) return;
      last = at;
      recordWebhookReceived(o.sql, o.source ?? 'stripe').catch((err: unknown) => {
        // The next webhook after the interval tries again.
        last = -Infinity;
        o.log.warn({ err }, 'could not record that a webhook was received');
      });
    },
  };
}
