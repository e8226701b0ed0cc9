// The webhook endpoint's health as /readyz and /metrics report it, read from the row the webhook
// receiver and catch-up share, so an api process reports what a worker's catch-up found.
import type { Sql } from '../../../adapters/postgres/connect.ts';
import { readWebhookHealth } from '../../../adapters/postgres/webhook-health.ts';

/** Stripe's event retention: a catch-up from a watermark older than this misses events. */
export const STRIPE_EVENT_RETENTION_S = 30 * 86_400;

export interface StripeHealthDetails {
  last_webhook_at: string | null;
  newest_event_at: string | null;
  /** Seconds by which the newest event catch-up listed is newer than the last webhook. */
  webhook_silence_s: number;
  /** Above RTWS_WEBHOOK_SILENCE_ALERT_S: the endpoint or its secret is likely broken. */
  webhooks_silent: boolean;
  /** Catch-up resumed from a watermark older than Stripe keeps events; a full reconciliation is due. */
  beyond_retention: { watermark: string; found_at: string } | null;
}

export function stripeEndpointHealth(
  sql: Sql,
  silenceAlertS: number,
): () => Promise<StripeHealthDetails> {
  return async () => {
    const row = await readWebhookHealth(sql, 'stripe');
    const silenceS = row?.silenceS ?? 0;
    return {
      last_webhook_at: row?.lastWebhookAt?.toISOString() ?? null,
      newest_event_at: row?.newestEventAt?.toISOString() ?? null,
      webhook_silence_s: silenceS,
      webhooks_silent: silenceS > silenceAlertS,
      beyond_retention: row?.gap
        ? {
            watermark: new Date(row.gap.watermark * 1000).toISOString(),
            found_at: row.gap.foundAt.toISOString(),
          }
        : null,
    };
  };
}
