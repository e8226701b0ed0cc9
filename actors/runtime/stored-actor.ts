// An actor's snapshot as stored in KV, for every kind: the persisted machine snapshot, stamped with
// the machine version that wrote it, so that a value this machine cannot resume is refused.
import { NewerVersionError } from '../../core/errors.ts';
import { SnapshotFormatError } from './errors.ts';

export interface StoredActor {
  readonly machineVersion: number;
  readonly snapshot: unknown;
}

/**
 * The persisted snapshot inside a stored value, once its stamp says this machine can read it:
 * `version`, or one of the `older` versions the kind still upgrades.
 */
export function unwrapStored(
  actorId: string,
  value: unknown,
  version: number,
  older: readonly number[] = [],
): unknown {
  const stored = value as Partial<StoredActor> | null;
  if (typeof stored !== 'object' || stored === null)
    throw new SnapshotFormatError(actorId, 'not an object');
  const stamp = stored.machineVersion;
  if (typeof stamp === 'number' && stamp > version)
    throw new NewerVersionError(`the snapshot of ${actorId} (machine version ${stamp})`);
  if (stamp !== version && !older.includes(stamp as number)) {
    throw new SnapshotFormatError(actorId, `machine version ${String(stamp)}, expected ${version}`);
  }
  return stored.snapshot;
}
