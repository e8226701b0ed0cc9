// Several concurrent writers hammering a set of customers until told to stop.
import type { Sql } from '../../adapters/postgres/connect.ts';

export interface Burst {
  stop(): Promise<{ writes: number; errors: number }>;
}

/** Writers update random customers directly in SQL; errors (an outage) are counted and retried. */
export function sqlBurst(sql: Sql, ids: readonly string[], writers: number, pauseMs = 1): Burst {
  let running = true;
  let writes = 0;
  let errors = 0;
  const loops = Array.from({ length: writers }, async (_, w) => {
    let n = 0;
    while (running) {
      const id = ids[(w * 7919 + n++) % ids.length]!;
      try {
        await sql`UPDATE customers SET metadata = metadata || ${sql.json({ [`w${w}`]: String(n) })} WHERE id = ${id}`;
        writes++;
      } catch {
        errors++;
        await new Promise((r) => setTimeout(r, 50));
      }
      if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return { writes, errors };
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
