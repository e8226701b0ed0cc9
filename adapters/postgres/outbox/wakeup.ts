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
import { OUTBOX_AGGREGATES } from './rows.ts';

export const CHANNEL = 'rtws_outbox';
/**
 * How often to look again while writers that may have missed the flag are still open. Every open
 * writing transaction of the cluster counts (the snapshot cannot tell which may write the outbox),
 * so under load there nearly always is one: each look is a round trip, and a writer that notifies
 * wakes the sleep at once anyway. Only a writer that read the flag just before it was armed waits
 * for this, at most.
 */
export const INFLIGHT_RECHECK_MS = 10;

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

/**
 * Sets the flag. With `pid`, only from that session: a publisher whose session was silently
 * re-established has lost its lock, and must not move a flag that another publisher now relies on.
 */
async function setFlag(sql: Sql, value: 0 | 1, pid: number | undefined): Promise<void> {
  if (pid === undefined) await sql`SELECT setval('outbox_armed', ${value})`;
  else await sql`SELECT setval('outbox_armed', ${value}) WHERE pg_backend_pid() = ${pid}`;
}

export const arm = (sql: Sql, pid?: number) => setFlag(sql, 1, pid);
export const disarm = (sql: Sql, pid?: number) => setFlag(sql, 0, pid);

async function lookAfterArming(
  sql: Sql,
): Promise<{ rows: boolean; inflight: string[]; pid: number | undefined }> {
  const [r] = await sql<{ rows: boolean; inflight: string[]; pid: number }[]>`
    SELECT EXISTS (SELECT 1 FROM outbox WHERE aggregate IN ${sql(OUTBOX_AGGREGATES)}) AS rows,
           ARRAY(SELECT x::text FROM pg_snapshot_xip(pg_current_snapshot()) x) AS inflight,
           pg_backend_pid() AS pid`;
  return r ?? { rows: false, inflight: [], pid: undefined };
}

/**
 * Whether the outbox has rows this publisher takes (a newer rtws's rows of an aggregate it cannot
 * encode wait for a newer publisher: counted, they would wake it in a loop), and which of `xids`
 * are still in progress.
 */
export async function stillOpen(
  sql: Sql,
  xids: string[],
): Promise<{ rows: boolean; inflight: string[] }> {
  const [r] = await sql<{ rows: boolean; inflight: string[] }[]>`
    SELECT EXISTS (SELECT 1 FROM outbox WHERE aggregate IN ${sql(OUTBOX_AGGREGATES)}) AS rows,
           ARRAY(SELECT x FROM unnest(${xids}::text[]) x
                 WHERE pg_xact_status(x::xid8) = 'in progress') AS inflight`;
  return r ?? { rows: false, inflight: [] };
}

export interface Woken {
  /** The backend pid of the session it armed on: a caller holding a session lock can tell it still has it. */
  readonly pid: number | undefined;
  /**
   * Writers that may have read the flag before it was armed and were still open when the sleep
   * ended (rows came, or the poll): each may yet commit a row without a NOTIFY. Once none is left
   * (`stillOpen`), every new row notifies for as long as the flag stays up, and no further look
   * is needed to learn of one.
   */
  readonly open: string[];
}

/**
 * Sleeps until there may be outbox rows: a notification, the safety poll, or a writer that may
 * have missed the flag committing its row. Leaves the flag armed; a caller about to drain under
 * load disarms it. With `pid`, arms only from that session (see `setFlag`).
 */
export async function sleepUntilWork(
  sql: Sql,
  wake: Waker,
  pollMs: number,
  pid?: number,
): Promise<Woken> {
  await arm(sql, pid);
  const deadline = Date.now() + pollMs;
  const first = await lookAfterArming(sql);
  let look: { rows: boolean; inflight: string[] } = first;
  while (!look.rows && look.inflight.length > 0 && Date.now() < deadline) {
    await wake.wait(INFLIGHT_RECHECK_MS);
    look = await stillOpen(sql, look.inflight);
  }
  if (!look.rows) await wake.wait(Math.max(0, deadline - Date.now()));
  return { pid: first.pid, open: look.inflight };
}
