// Reconciliations on a schedule: every RTWS_RECONCILE_INTERVAL_S after the last one started (or,
// before the first, after this process started), a worker starts one. Several workers may look at
// once: one active reconciliation at a time is the database's rule, and the others' start is a
// no-op.
import type { Logger } from '../../../core/ports.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import {
  BackfillActiveError,
  createBackfill,
  latestBackfill,
} from '../../../adapters/postgres/backfills.ts';

export interface ReconcileSchedule {
  /** Starts one now unless one is active: after an outage longer than the events' retention. */
  now(reason: string): Promise<void>;
  stop(): void;
}

/** Looks at most this often, so that a change of the interval takes effect within it. */
const LOOK_EVERY_MS = 60_000;

export function reconcileSchedule(o: {
  sql: Sql;
  log: Logger;
  intervalS: number;
  /** Tells the runner there is work. */
  kick: () => void;
  now?: () => number;
}): ReconcileSchedule {
  const clock = o.now ?? Date.now;
  const since = clock();
  const start = async (reason: string) => {
    try {
      const b = await createBackfill(o.sql, 'reconcile', {});
      o.log.info({ reconciliation: b.id, reason }, 'reconciliation started');
      o.kick();
    } catch (err) {
      if (!(err instanceof BackfillActiveError)) throw err;
    }
  };
  const look = async () => {
    const last = await latestBackfill(o.sql, 'reconcile');
    const from = last ? last.startedAt.getTime() : since;
    if (clock() - from >= o.intervalS * 1000) await start('schedule');
  };
  const timer =
    o.intervalS > 0
      ? setInterval(
          () =>
            void look().catch((err: unknown) =>
              o.log.warn(
                { err: String(err) },
                'the reconciliation schedule could not look; will retry',
              ),
            ),
          Math.min(LOOK_EVERY_MS, o.intervalS * 1000),
        )
      : undefined;
  timer?.unref();
  return {
    now: start,
    stop: () => clearInterval(timer),
  };
}
