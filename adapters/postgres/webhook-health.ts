// The shared facts behind the webhook endpoint's health: when a webhook was last received (the api
// role writes it), the newest event catch-up listed, and a catch-up gap beyond Stripe's retention
// (the worker role writes both). One small row per source, so any process can report it.
import type { Sql } from './connect.ts';

export interface WebhookHealthRow {
  readonly lastWebhookAt: Date | null;
  readonly newestEventAt: Date | null;
  /** Seconds by which the newest event listed is newer than the last webhook (0 if not newer). */
  readonly silenceS: number;
  /** A watermark found older than the retention, not yet repaired by a reconciliation. */
  readonly gap: { readonly watermark: number; readonly foundAt: Date } | null;
}

/** Moves forward only: several api processes write it, each at most every few seconds. */
export async function recordWebhookReceived(sql: Sql, source: string): Promise<void> {
  await sql`
    INSERT INTO webhook_health (source, last_webhook_at) VALUES (${source}, now())
    ON CONFLICT (source) DO UPDATE
      SET last_webhook_at = GREATEST(webhook_health.last_webhook_at, EXCLUDED.last_webhook_at)`;
}

/** `createdS`: the Unix second of the newest event listed; moves forward only. */
export async function recordNewestEvent(sql: Sql, source: string, createdS: number): Promise<void> {
  await sql`
    INSERT INTO webhook_health (source, newest_event_at)
    VALUES (${source}, to_timestamp(${createdS}))
    ON CONFLICT (source) DO UPDATE
      SET newest_event_at = GREATEST(webhook_health.newest_event_at, EXCLUDED.newest_event_at)`;
}

/** Keeps the first gap found until it is cleared: a later, newer watermark does not hide it. */
export async function recordRetentionGap(
  sql: Sql,
  source: string,
  watermark: number,
): Promise<void> {
  await sql`
    INSERT INTO webhook_health (source, gap_watermark, gap_found_at)
    VALUES (${source}, ${watermark}, now())
    ON CONFLICT (source) DO UPDATE
      SET gap_watermark = COALESCE(webhook_health.gap_watermark, EXCLUDED.gap_watermark),
          gap_found_at = COALESCE(webhook_health.gap_found_at, EXCLUDED.gap_found_at)`;
}

/** For a completed full reconciliation: what the gap lost has been compared and repaired. */
export async function clearRetentionGap(sql: Sql, source: string): Promise<void> {
  await sql`
    UPDATE webhook_health SET gap_watermark = NULL, gap_found_at = NULL WHERE source = ${source}`;
}

export async function readWebhookHealth(
  sql: Sql,
  source: string,
): Promise<WebhookHealthRow | undefined> {
  const [row] = await sql<
    {
      last_webhook_at: Date | null;
      newest_event_at: Date | null;
      silence_s: number;
      gap_watermark: string | null;
      gap_found_at: Date | null;
    }[]
  >`
    SELECT last_webhook_at, newest_event_at, gap_watermark, gap_found_at,
      GREATEST(0, floor(extract(epoch FROM
        newest_event_at - COALESCE(last_webhook_at, tracked_since))))::int AS silence_s
    FROM webhook_health WHERE source = ${source}`;
  if (!row) return undefined;
  return {
    lastWebhookAt: row.last_webhook_at,
    newestEventAt: row.newest_event_at,
    silenceS: row.silence_s ?? 0,
    gap:
      row.gap_watermark === null || row.gap_found_at === null
        ? null
        : { watermark: Number(row.gap_watermark), foundAt: row.gap_found_at },
  };
}
