// Sleeping without missing a row, and without a NOTIFY per row under load.
//
// The capture trigger notifies only while the `outbox_armed` flag is 1. The publisher arms it just
// before it sleeps. Under load it disarms it and drains in a loop, so writers pay no NOTIFY at all;
// under a light load it leaves it armed between batches (see publisher.ts).
//
// The race: a writer whose trigger read the flag as 0 just before we armed will not notify, and
// its row is invisible to our re-check until it commits. Such a writer holds an xid that is in
// progress when we look, so we take the in-progress xids right after arming, and keep re-checking
// (briefly) until they have all finished. Anything later saw the flag at 1 and notifies.
import type { Sql } from '../connect.ts';

export const CHANNEL = 'rtws_outbox';
/**
 * How often to look again while writers that may have missed the flag are still open. Every open
 * writing transaction of the cluster counts (the snapshot cannot tell which may write the outbox),
 * so under load there nearly always is one: each look is a round trip, and a writer that notifies
 * wakes the sleep at once anyway. Only a writer that read the flag just before it was armed waits
 * for this, at most.
 */
const INFLIGHT_RECHECK_MS = 10;

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

async function lookAfterArming(
  sql: Sql,
): Promise<{ rows: boolean; inflight: string[]; pid: number | undefined }> {
  const [r] = await sql<{ rows: boolean; inflight: string[]; pid: number }[]>`
    SELECT EXISTS (SELECT 1 FROM outbox) AS rows,
           ARRAY(SELECT x::text FROM pg_snapshot_xip(pg_current_snapshot()) x) AS inflight,
           pg_backend_pid() AS pid`;
  return r ?? { rows: false, inflight: [], pid: undefined };
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
 * have missed the flag committing its row. Returns the backend pid of the session it armed on, so
 * that a caller holding a session lock can tell it still has it, and leaves the flag armed: from
 * the look onwards every writer notifies, so for as long as the flag stays up the caller needs no
 * further look to learn of new rows. A caller about to drain under load disarms it.
 */
export async function sleepUntilWork(
  sql: Sql,
  wake: Waker,
  pollMs: number,
): Promise<number | undefined> {
  await arm(sql);
  const deadline = Date.now() + pollMs;
  const first = await lookAfterArming(sql);
  let look: { rows: boolean; inflight: string[] } = first;
  while (!look.rows && look.inflight.length > 0 && Date.now() < deadline) {
    await wake.wait(INFLIGHT_RECHECK_MS);
    look = await stillOpen(sql, look.inflight);
  }
  if (!look.rows) await wake.wait(Math.max(0, deadline - Date.now()));
  return first.pid;
}
