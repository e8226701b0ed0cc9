// A target switched on for the first time (a start that configures it, with a catalogue already
// there) gets the catalogue by itself: an export, paced behind live changes like any backfill.
// Otherwise rows that existed before the target would reach it only when someone edits them.
import type { Logger } from '../../../core/ports.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import { BackfillActiveError, createBackfill } from '../../../adapters/postgres/backfills.ts';
import { switchOn } from '../../../adapters/postgres/enabled-targets.ts';
import { liveCustomerCount } from '../../../adapters/postgres/live-customers.ts';

export async function exportToNewTargets(o: {
  readonly sql: Sql;
  readonly targets: readonly string[];
  /** RTWS_AUTO_EXPORT: off, new targets are recorded and nothing is exported. */
  readonly enabled: boolean;
  readonly log: Logger;
}): Promise<void> {
  const switched = await switchOn(o.sql, o.targets);
  if (switched.length === 0) return;
  const customers = await liveCustomerCount(o.sql);
  if (customers === 0) return;
  if (!o.enabled) {
    o.log.info(
      { targets: switched, customers },
      'target switched on; RTWS_AUTO_EXPORT=false, so existing customers reach it on their next change or an export',
    );
    return;
  }
  try {
    const b = await createBackfill(o.sql, 'postgres', { targets: [...o.targets] });
    o.log.info(
      { targets: switched, customers, backfill: b.id },
      'target switched on: exporting the catalogue to it',
    );
  } catch (err) {
    if (!(err instanceof BackfillActiveError)) throw err;
    o.log.info(
      { targets: switched, backfill: err.active.id },
      'target switched on: the export already under way covers it',
    );
  }
}
