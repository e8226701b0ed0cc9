// Sleeping without missing a row, and without a NOTIFY per row under load.
//
// The capture trigger notifies only while the `outbox_armed` flag is 1. The publisher arms it just
// before it sleeps and disarms it as soon as it wakes; under load it drains in a loop and never
// arms, so writers pay no NOTIFY at all.
//
// The race: a writer whose trigger read the flag as 0 just before we armed will not notify, and
// its row is invisible to our re-check until it commits. Such a writer holds an xid that is in
// progress when we look, so we take the in-progress xids right after arming, and keep re-checking
// (briefly) until they have all finished. Anything later saw the flag at 1 and notifies.
import type { Sql } from '../connect.ts';

export const CHANNEL = 'rtws_outbox';
/** How often to look again while writers that may have missed the flag are still open. */
const INFLIGHT_RECHECK_MS = 2;

export interface Waker {
  /** Resolves after `ms`, or earlier on wake(). */
  wait(ms: number): Promise<void>;
  wake(): void;
}

export function waker(): Waker {
  let pending: (() => void) | undefined;
  let woken = false;
  return {
    wait(ms) {
      if (woken) {
        woken = false;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          pending = undefined;
          woken = false;
          resolve();
        }
        pending = done;
      });
    },
    wake() {
      woken = true;
      pending?.();
    },
  };
}

export async function arm(sql: Sql): Promise<void> {
  await sql`SELECT setval('outbox_armed', 1)`;
}

export async function disarm(sql: Sql): Promise<void> {
  await sql`SELECT setval('outbox_armed', 0)`;
}

async function lookAfterArming(sql: Sql): Promise<{ rows: boolean; inflight: string[] }> {
  const [r] = await sql<{ rows: boolean; inflight: string[] }[]>`
    SELECT EXISTS (SELECT 1 FROM outbox) AS rows,
           ARRAY(SELECT x::text FROM pg_snapshot_xip(pg_current_snapshot()) x) AS inflight`;
  return r ?? { rows: false, inflight: [] };
}

async function stillOpen(sql: Sql, xids: string[]): Promise<{ rows: boolean; inflight: string[] }> {
  const [r] = await sql<{ rows: boolean; inflight: string[] }[]>`
    SELECT EXISTS (SELECT 1 FROM outbox) AS rows,
           ARRAY(SELECT x FROM unnest(${xids}::text[]) x
                 WHERE pg_xact_status(x::xid8) = 'in progress') AS inflight`;
  return r ?? { rows: false, inflight: [] };
}

/**
 * Sleeps until there may be outbox rows: a notification, the safety poll, or a writer that may
 * have missed the flag committing its row. Returns with the flag disarmed.
 */
export async function sleepUntilWork(sql: Sql, wake: Waker, pollMs: number): Promise<void> {
  await arm(sql);
  try {
    const deadline = Date.now() + pollMs;
    let look = await lookAfterArming(sql);
    while (!look.rows && look.inflight.length > 0 && Date.now() < deadline) {
      await wake.wait(INFLIGHT_RECHECK_MS);
      look = await stillOpen(sql, look.inflight);
    }
    if (look.rows) return;
    await wake.wait(Math.max(0, deadline - Date.now()));
  } finally {
    await disarm(sql);
  }
}
