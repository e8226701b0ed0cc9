// Errors the runtime raises; the adapters decide what each means for the message at hand.
import { RtwsError } from '../../core/errors.ts';

/** This worker no longer holds the partition: the step must neither save nor ack. */
export class LeaseLostError extends RtwsError {
  constructor(partition: number) {
    super('lease_lost', `partition ${partition} is no longer held by this worker`);
  }
}

/** A stored snapshot this machine cannot resume: another machine version, or a damaged value. */
export class SnapshotFormatError extends RtwsError {
  constructor(actorId: string, reason: string) {
    super('snapshot_format', `snapshot of ${actorId} cannot be restored: ${reason}`);
  }
}

/** Writers kept racing on one snapshot; the message is retried later. */
export class SnapshotContentionError extends RtwsError {
  constructor(actorId: string, attempts: number, options?: { cause?: unknown }) {
    super(
      'snapshot_contention',
      `snapshot of ${actorId} changed under ${attempts} attempts`,
      options,
    );
  }
}
