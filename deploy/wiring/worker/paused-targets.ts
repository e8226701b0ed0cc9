// Which targets an operator has paused, as this worker knows it: read from Postgres every second,
// so a pause reaches every worker within about a second, and survives restarts. While a target is
// paused its intents wait (the scheduler holds them before their call); calls already sent finish.
import type { Logger } from '../../../core/ports.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import { listPauses } from '../../../adapters/postgres/target-pauses.ts';

export interface PausedTargets {
  has(target: string): boolean;
  stop(): void;
}

export async function watchPausedTargets(
  sql: Sql,
  log: Logger,
  everyMs = 1_000,
): Promise<PausedTargets> {
  let paused = new Set<string>();
  let failing = false;
  const read = async () => {
    try {
      const pauses = await listPauses(sql);
      const next = new Set(pauses.map((p) => p.target));
      for (const p of pauses)
        if (!paused.has(p.target))
          log.warn(
            { target: p.target, paused_by: p.pausedBy, reason: p.reason },
            'target paused by an operator: its intents wait until it is resumed',
          );
      for (const target of paused)
        if (!next.has(target)) log.info({ target }, 'target resumed: its intents go on');
      paused = next;
      failing = false;
    } catch (err) {
      // Kept as last read: a pause is not lifted, nor a new one missed for long, by an outage.
      if (!failing) log.warn({ err: String(err) }, 'paused targets not read; trying again');
      failing = true;
    }
  };
  await read();
  const timer = setInterval(() => void read(), everyMs);
  timer.unref?.();
  return {
    has: (target) => paused.has(target),
    stop: () => clearInterval(timer),
  };
}
