// Change Data Capture for the emulated org: captures the writes of each unit of work, publishes
// them as change events on the bus, and emits gap and overflow events on demand.
import { randomInt } from 'node:crypto';
import { SalesforceApiError } from '../errors.ts';
import { canonicalId } from '../ids.ts';
import type { ObjectDef } from '../schema.ts';
import { USER_KEY_PREFIX, findObject } from '../schema.ts';
import type { ChangeEvent } from './bus.ts';
import { EventBus } from './bus.ts';
import type { ChangeOrigin } from './capture.ts';
import { ChangeCapture } from './capture.ts';
import { DeliveryAllocation } from './delivery.ts';
import type { GapChangeType, HeaderOnlyEvent } from './events.ts';
import { EMPTY_RECORD_ID, headerOnlyEvent, transactionEvents } from './events.ts';

export type { ChangeEvent } from './bus.ts';
export type { ChangeEventHeader, ChangeType, GapChangeType } from './events.ts';
export { restChangeOrigin } from './capture.ts';

/** A gap event to emit: Salesforce's notice that records changed without a change event. */
export interface GapEventSpec {
  readonly entityName: string;
  readonly changeType: GapChangeType;
  readonly recordIds: readonly string[];
  /** Default: the emulator's person user. */
  readonly commitUser?: string;
  /** Default empty, as for a change made outside the application servers. */
  readonly changeOrigin?: string;
}

/** An overflow event to emit: a transaction too large for change events on this entity. */
export interface OverflowEventSpec {
  readonly entityName: string;
  readonly commitUser?: string;
  readonly changeOrigin?: string;
}

const GAP_TYPES: ReadonlySet<string> = new Set([
  'GAP_CREATE',
  'GAP_UPDATE',
  'GAP_DELETE',
  'GAP_UNDELETE',
]);

export interface ChangeDataCaptureOptions {
  readonly retentionMs: number;
  readonly dailyDeliveredEventLimit: number;
  readonly onChange: () => void;
}

export class ChangeDataCapture {
  readonly capture: ChangeCapture;
  readonly bus: EventBus;
  readonly delivery: DeliveryAllocation;

  constructor(options: ChangeDataCaptureOptions) {
    // Replay ids and commit numbers look like an established org's rather than starting at 1.
    this.bus = new EventBus(options.retentionMs, options.onChange, {
      replayId: randomInt(1_000_000, 9_000_000),
      commitNumber: randomInt(10_000_000_000, 90_000_000_000),
    });
    this.delivery = new DeliveryAllocation(options.dailyDeliveredEventLimit);
    this.capture = new ChangeCapture((origin, changes) => {
      this.bus.publish(transactionEvents(origin, changes, this.bus.nextCommit()));
    });
  }

  /** Runs one unit of work; its writes commit as one transaction with this `changeOrigin`. */
  run<T>(origin: ChangeOrigin, fn: () => T): T {
    return this.capture.run(origin, fn);
  }

  emitGap(spec: GapEventSpec, defaultUser: string): ChangeEvent {
    if (!GAP_TYPES.has(spec.changeType))
      throw invalid(`changeType must be one of ${[...GAP_TYPES].join(', ')}`);
    const object = objectOf(spec.entityName);
    if (!Array.isArray(spec.recordIds) || spec.recordIds.length === 0)
      throw invalid('recordIds must name at least one record');
    const recordIds = spec.recordIds.map((raw) => {
      const id = typeof raw === 'string' ? canonicalId(raw) : undefined;
      if (!id?.startsWith(object.keyPrefix))
        throw invalid(`not a ${object.name} id: ${String(raw)}`);
      return id;
    });
    return this.emit({ ...spec, object, recordIds, changeType: spec.changeType }, defaultUser);
  }

  emitOverflow(spec: OverflowEventSpec, defaultUser: string): ChangeEvent {
    const object = objectOf(spec.entityName);
    return this.emit(
      { ...spec, object, recordIds: [EMPTY_RECORD_ID], changeType: 'GAP_OVERFLOW' },
      defaultUser,
    );
  }

  /** Drops the retained events and today's deliveries; replay ids keep increasing. */
  reset(): void {
    this.bus.forget();
    this.delivery.reset();
  }

  private emit(
    spec: Omit<HeaderOnlyEvent, 'commitUser' | 'changeOrigin'> &
      Pick<GapEventSpec, 'commitUser' | 'changeOrigin'>,
    defaultUser: string,
  ): ChangeEvent {
    const commitUser = userId(spec.commitUser ?? defaultUser);
    const draft = headerOnlyEvent(
      { ...spec, commitUser, changeOrigin: spec.changeOrigin ?? '' },
      this.bus.nextCommit(),
      Date.now(),
    );
    return this.bus.publish([draft])[0]!;
  }
}

function objectOf(entityName: string): ObjectDef {
  const object = typeof entityName === 'string' ? findObject(entityName) : undefined;
  if (!object) throw invalid(`unknown entityName ${String(entityName)}`);
  return object;
}

function userId(raw: string): string {
  const id = canonicalId(raw);
  if (!id?.startsWith(USER_KEY_PREFIX)) throw invalid('commitUser must be a user id (005…)');
  return id;
}

const invalid = (message: string): SalesforceApiError =>
  new SalesforceApiError(400, 'INVALID_REQUEST', message);
