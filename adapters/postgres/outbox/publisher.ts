// The outbox publisher: one active at a time (an advisory lock elects it), draining the outbox in
// id order to JetStream, deleting rows only after their PubAcks.
//
// It never remembers "the highest id published": concurrent transactions commit out of id order,
// so such a cursor skips rows. Each batch takes the rows by deleting them (locked FOR UPDATE) in a
// transaction that commits after their PubAcks, so every row is published and removed
// individually.
import type { Names } from '../../../core/subjects.ts';
import type { DurablePublisher, Logger } from '../../../core/ports.ts';
import { backoffMs, type BackoffPolicy } from '../../../core/policy/backoff.ts';
import { connectPostgres } from '../connect.ts';
import { publishOrdered } from './ordered-publish.ts';
import { OUTBOX_AGGREGATES, outgoing, type OutboxRow } from './rows.ts';
import {
  CHANNEL,
  INFLIGHT_RECHECK_MS,
  disarm,
  sleepUntilWork,
  stillOpen,
  waker,
} from './wakeup.ts';

export interface OutboxPublisherOptions {
  databaseUrl: string;
  names: Names;
  publisher: DurablePublisher;
  log: Logger;
  pollMs: number;
  batchSize: number;
  window: number;
  /** How often a standby tries to take over. */
  standbyRetryMs?: number;
}

export interface OutboxPublisher {
  readonly stats: {
    published: number;
    batches: number;
    /** Times it armed the flag and slept: after a batch that emptied the outbox, unless steady. */
    sleeps: number;
    /** Times it waited with the flag still armed from an earlier sleep: no arm, no look. */
    armedWaits: number;
    leader: boolean;
    lastError?: string;
  };
  /** Finishes the batch in flight (its publishes and its delete), then stops. */
  stop(): Promise<void>;
}

const LOCK = 'rtws.outbox-publisher';
/** 200 ms, 400 ms, 800 ms … capped at 5 s; one publisher at a time, so no jitter to spread. */
const RETRY: BackoffPolicy = Object.freeze({ baseMs: 200, factor: 2, capMs: 5_000, jitter: 0 });

class LeadershipLost extends Error {}

/**
 * A wait shorter than this before a batch: rows are arriving steadily. The publisher then disarms
 * the flag and, after a short batch, looks again `LOOK_AGAIN_MS` later rather than arming it.
 * Arming, the look that follows and the disarm are three round trips, and while the flag is armed
 * every writer's commit pays a NOTIFY; under a steady load the next look finds rows anyway. A look
 * that finds none arms the flag as before, so a quiet outbox still costs nothing.
 *
 * Under a light load (waits longer than this) the flag stays armed between batches. Since the
 * look that armed it, every writer has notified, so after a short batch the publisher just waits
 * for the next notification: a lone change costs the batch's two round trips, where arming,
 * looking and disarming around each batch took five or more.
 */
const STEADY_SLEEP_MS = 5;
const LOOK_AGAIN_MS = 2;

export async function startOutboxPublisher(o: OutboxPublisherOptions): Promise<OutboxPublisher> {
  // A single connection: the advisory lock, the batches and the flag all live on it, so losing
  // the connection loses the lock and aborts the batch together.
  const sql = connectPostgres(o.databaseUrl, { max: 1, applicationName: 'rtws-publisher' });
  const wake = waker();
  const stats: OutboxPublisher['stats'] = {
    published: 0,
    batches: 0,
    sleeps: 0,
    armedWaits: 0,
    leader: false,
  };
  let leaderPid: number | undefined;
  let stopping = false;

  const listener = await sql
    .listen(
      CHANNEL,
      () => wake.wake(),
      () => wake.wake(),
    ) // onlisten runs on every (re)connect: rescan
    .catch((err: unknown) => {
      o.log.warn({ err }, 'outbox LISTEN failed; relying on the safety poll until it reconnects');
      return undefined;
    });

  async function tryLead(): Promise<boolean> {
    const [r] = await sql<{ locked: boolean; pid: number }[]>`
      SELECT pg_try_advisory_lock(hashtext(${LOCK})) AS locked, pg_backend_pid() AS pid`;
    if (!r?.locked) return false;
    leaderPid = r.pid;
    return true;
  }

  /**
   * Publishes one batch: how many rows it took (fewer than a batch: the outbox had no more). The
   * rows are taken by their delete, which commits only once every PubAck is in: a publish that
   * fails rolls the delete back and the rows stay. Two round trips for the batch: `BEGIN` goes
   * with the delete, pipelined on the one connection, and `COMMIT` after the PubAcks.
   *
   * The delete takes rows only on the session that holds the lock, where the `BEGIN` sent with it
   * came first. Should the connection be re-established between the two, the delete would run on
   * the new session outside any transaction; there it takes nothing, and the sleep that follows
   * finds the session changed.
   *
   * The ids are taken as an array (`= ANY(ARRAY(…))`), not as `IN (…)`: Postgres joined an `IN`
   * by hashing the subquery's ids against a scan of the whole outbox, so each batch read all of a
   * backlog (a NATS outage, an import) of up to about 100,000 rows: 5 million rows read to drain
   * 100,000 (`test/capture/backlog-drain`).
   */
  async function drainBatch(): Promise<number> {
    try {
      const [, taken] = await Promise.all([
        sql`BEGIN`,
        sql<OutboxRow[]>`
          DELETE FROM outbox WHERE id = ANY(ARRAY(
            SELECT id FROM outbox
            WHERE aggregate IN ${sql(OUTBOX_AGGREGATES)} AND pg_backend_pid() = ${leaderPid ?? 0}
            ORDER BY id LIMIT ${o.batchSize} FOR UPDATE))
          RETURNING id, aggregate, aggregate_id, customer_id, op, version, origin, payload,
                    occurred_at, changed, correlation_id, write_id`,
      ]);
      // RETURNING keeps no order: a customer's rows go out in id order, its commit order.
      const rows = [...taken].sort((a, b) => a.id - b.id);
      if (rows.length > 0)
        await publishOrdered(
          o.publisher,
          rows.map((r) => outgoing(r, o.names)),
          o.window,
        );
      await sql`COMMIT`;
      return rows.length;
    } catch (err) {
      // Whatever failed, the rows go back; on a connection that was lost there is nothing to end.
      await sql`ROLLBACK`.catch(() => {});
      throw err;
    }
  }

  async function loop(): Promise<void> {
    let failures = 0;
    let steady = false;
    /**
     * The flag has stayed up since this publisher's last look: once the writers that look saw open
     * (`open`) have ended, every row notifies, and a wait needs no look.
     */
    let covered = false;
    let open: string[] = [];
    /**
     * Waits for the writers the last look saw open to end, each of which may commit a row without a
     * NOTIFY: true once none is open; false as soon as rows are there to drain, on stop, or after
     * a safety poll's time (a long transaction elsewhere in the cluster), when a sleep looks anew.
     */
    async function openWritersEnded(): Promise<boolean> {
      const until = Date.now() + o.pollMs;
      while (open.length > 0 && !stopping && Date.now() < until) {
        const look = await stillOpen(sql, open);
        open = look.inflight;
        if (look.rows) return false;
        if (open.length > 0) await wake.wait(INFLIGHT_RECHECK_MS);
      }
      return open.length === 0;
    }
    /** The flag may be up: armed by this publisher, or left up by one before it. */
    let flagUp = false;
    /** Drains with the flag down, so that writers under load pay no NOTIFY. */
    async function underLoad(): Promise<void> {
      steady = true;
      covered = false;
      if (!flagUp) return;
      await disarm(sql, leaderPid);
      flagUp = false;
    }
    while (!stopping) {
      try {
        if (!stats.leader) {
          stats.leader = await tryLead();
          // A publisher before this one may have left the flag up.
          flagUp ||= stats.leader;
          if (stats.leader) o.log.info({}, 'outbox publisher is active');
          else {
            await wake.wait(o.standbyRetryMs ?? 1_000);
            continue;
          }
        }
        const n = await drainBatch();
        failures = 0;
        if (n > 0) {
          stats.published += n;
          stats.batches++;
          // Under load: keep draining with the flag down.
          if (n === o.batchSize) {
            await underLoad();
            continue;
          }
          if (steady) {
            await wake.wait(LOOK_AGAIN_MS);
            continue;
          }
          if (covered) {
            // A light load: the flag is still up, so once the writers the last look saw open have
            // ended, the next row notifies. An empty batch (the notification's row went with an
            // earlier batch) or the safety poll ends in a sleep below, whose look also checks the
            // session.
            if (!(await openWritersEnded())) continue;
            const waitedAt = Date.now();
            stats.armedWaits++;
            await wake.wait(o.pollMs);
            if (Date.now() - waitedAt < STEADY_SLEEP_MS) await underLoad();
            continue;
          }
        }
        // A short batch took every row there was: no empty batch to learn that again. The sleep
        // looks for rows once armed, so one committed meanwhile is drained at once. It also tells
        // the session it used: one silently re-established has lost the lock, even while idle.
        const asleepAt = Date.now();
        stats.sleeps++;
        covered = false;
        flagUp = true;
        const woken = await sleepUntilWork(sql, wake, o.pollMs, leaderPid);
        if (woken.pid !== leaderPid) throw new LeadershipLost();
        covered = true;
        open = woken.open;
        steady = false;
        if (Date.now() - asleepAt < STEADY_SLEEP_MS) await underLoad();
      } catch (err) {
        // The flag may still be up: the next full batch or short wait takes it down.
        covered = false;
        failures++;
        if (err instanceof LeadershipLost) {
          stats.leader = false;
          o.log.warn({}, 'outbox publisher lost its database session; re-electing');
          continue;
        }
        stats.lastError = String(err);
        const delay = backoffMs(failures, LOCK, RETRY);
        o.log.warn(
          { err: String(err), retryInMs: delay },
          'outbox publish failed; rows stay and are retried',
        );
        await wake.wait(delay);
      }
    }
    await flush();
    // Writers need not notify a publisher that has stopped; the next one drains before it sleeps.
    if (flagUp) await disarm(sql, leaderPid).catch(() => {});
  }

  /** On stop: the API closes first, so what it committed is published before the process exits. */
  async function flush(): Promise<void> {
    if (!stats.leader) return;
    try {
      for (let n = await drainBatch(); n > 0; n = await drainBatch()) stats.published += n;
    } catch (err) {
      o.log.warn(
        { err: String(err) },
        'outbox flush on stop failed; the rows stay for the next publisher',
      );
    }
  }

  const running = loop();
  return {
    stats,
    async stop() {
      stopping = true;
      wake.wake();
      await running;
      await listener?.unlisten().catch(() => {});
      await sql.end({ timeout: 5 });
    },
  };
}
