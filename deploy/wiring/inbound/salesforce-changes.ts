// Salesforce's changes, read back by polling: every RTWS_SALESFORCE_POLL_S, the records changed
// since the watermark (less RTWS_SALESFORCE_POLL_OVERLAP_S) and those deleted meanwhile. Each is
// handed to its customer's actor on the customer's own subject, in order with everything else:
// - a changed record as `SalesforceRecordChanged` (the actor merges it, or drops our echo);
// - a deleted one as `SalesforceRecordMissing` with RTWS_SALESFORCE_ON_REMOTE_DELETE.
// With Change Data Capture (RTWS_SALESFORCE_CDC), each change event makes a read at once: the
// events say when to read, the read (SOQL on SystemModstamp) says what changed, so a lost event,
// a gap or an overflow costs latency and never a change, and no replay id needs keeping.
// One worker reads: the one holding partition 0, so a cluster pays the calls once. The
// watermark is kept per bound org in Postgres, so a restart or another worker resumes from it.
import type { Logger } from '../../../core/ports.ts';
import type { Names } from '../../../core/subjects.ts';
import type {
  SalesforceRecordChanged,
  SalesforceRecordMissing,
} from '../../../actors/customer/index.ts';
import type { DurablePublisher } from '../../../core/ports.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import { advanceWatermark, readWatermark } from '../../../adapters/postgres/catchup-watermarks.ts';
import { archiveLink, customerForExternalId } from '../../../adapters/postgres/links.ts';
import {
  deletedBetween,
  readChangesSince,
  type ChangedRecord,
} from '../../../adapters/salesforce/changes.ts';
import { fieldsOfRecord, valuesOfFields } from '../../../adapters/salesforce/mapper.ts';
import { fieldMapOf } from '../../../adapters/salesforce/target.ts';
import { catalogueRows } from '../../../adapters/postgres/reconciliations.ts';
import type { CanonicalFields } from '../../../core/canonical.ts';
import { holdsPatch } from '../../../core/policy/push.ts';
import { integrationUserId } from '../../../adapters/salesforce/read-back.ts';
import {
  ChangeStreamClosed,
  openChangeStream,
  type ChangeStream,
} from '../../../adapters/salesforce/change-stream.ts';
import { publishTo } from '../backfill/import-handover.ts';
import type { SalesforceReadDeps } from '../backfill/reconcile-salesforce.ts';
import type { PartitionWork } from '../worker/partition-work.ts';

export interface SalesforceChangesOptions {
  readonly sql: Sql;
  readonly publisher: DurablePublisher;
  readonly names: Names;
  readonly log: Logger;
  readonly salesforce: SalesforceReadDeps;
  /** The org this database is bound to; nothing is read until it is known. */
  readonly org: () => string | undefined;
  /** False while Salesforce's calls must wait (binding unverified, daily share spent). */
  readonly ready: () => boolean;
  /** The Stripe binding messages are stamped with, as every message on a customer's subject. */
  readonly binding?: () => string | undefined;
  readonly pollS: number;
  readonly overlapS: number;
  /**
   * Subscribe to the object's Change Data Capture channel: each change event (ours included)
   * makes a read at once, so an edit arrives within about a second rather than an interval.
   */
  readonly changeEvents?: boolean;
  /** How long a read waits after a change event for more of them (default 250 ms). */
  readonly settleMs?: number;
  readonly now?: () => number;
}

export interface SalesforceReadReport {
  readonly since: number;
  readonly changed: number;
  readonly deleted: number;
}

export interface SalesforceChanges {
  /** One read now (callers meanwhile share it); rejects if Salesforce, NATS or Postgres fails. */
  run(): Promise<SalesforceReadReport | undefined>;
  /** Partition 0's work: reading starts with its lease and stops with it. */
  readonly work: PartitionWork;
  stop(): Promise<void>;
}

/** What a change is known by, to the actor and to JetStream, whoever read it. */
export function changeEventId(r: ChangedRecord): string {
  return `salesforce:${r.salesforceId}:${r.modifiedAt}`;
}

/** The change for its customer's actor; `us` is the integration user. */
export function recordChanged(r: ChangedRecord, us: string): SalesforceRecordChanged {
  return {
    type: 'SalesforceRecordChanged',
    data: {
      eventId: changeEventId(r),
      recordId: r.salesforceId,
      fields: r.fields,
      ...(Object.keys(r.putBack).length > 0 ? { putBack: r.putBack } : {}),
      modifiedAt: r.modifiedAt,
      byUs: r.lastModifiedById === us,
    },
    at: 0,
  };
}

/** `/data/AccountChangeEvent`; a custom object's `Foo__c` has `/data/Foo__ChangeEvent`. */
export function changeEventChannel(object: string): string {
  return `/data/${object.endsWith('__c') ? `${object.slice(0, -3)}__` : object}ChangeEvent`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** `getDeleted` counts whole minutes, and its window must span at least one. */
const MINUTE_MS = 60_000;
/** How long Salesforce keeps deleted records for `getDeleted`. */
const DELETED_KEPT_MS = 15 * 86_400_000;

export function salesforceChanges(o: SalesforceChangesOptions): SalesforceChanges {
  const now = o.now ?? Date.now;
  const log = o.log.child({ component: 'salesforce-changes' });
  let running: Promise<SalesforceReadReport | undefined> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let reading = false;
  let failures = 0;

  let again = false;
  let kickTimer: NodeJS.Timeout | undefined;
  let stream: ChangeStream | undefined;
  let streamState: 'off' | 'subscribing' | 'on' | 'failed' = 'off';

  let warnedUnavailable = false;
  let gapSaid = false;

  // A change event during a read (whatever started it) makes one more read after it.
  const run = () =>
    (running ??= once().finally(() => {
      running = undefined;
      if (again) {
        again = false;
        kick();
      }
    }));

  /** What this process handed on, by event id, with when: the overlap reads it again. */
  const published = new Map<string, number>();
  function forgetPublished(now: number): void {
    const keepMs = (o.overlapS + 2 * 60) * 1000;
    for (const [id, at] of published) if (now - at > keepMs) published.delete(id);
  }

  /** Whether the record holds, in every mapped field, what the catalogue's row maps to. */
  function holdsCatalogue(fields: CanonicalFields, r: ChangedRecord): boolean {
    const map = fieldMapOf(o.salesforce.target);
    const there = fieldsOfRecord(map, valuesOfFields(map, fields));
    return holdsPatch(there, r.fields) && holdsPatch(there, r.putBack);
  }

  /** A change event: one read soon, and one more after it if events came during it. */
  function kick(): void {
    if (!reading) return;
    if (running) {
      again = true;
      return;
    }
    kickTimer ??= setTimeout(() => {
      kickTimer = undefined;
      void run().catch((err: unknown) =>
        log.warn({ err: String(err) }, 'reading changes from Salesforce failed; retrying'),
      );
    }, o.settleMs ?? 250);
  }

  /**
   * Subscribes with replay -1 (new events only): what happened before is the read's, from its
   * watermark. A subscription that fails (an org without CDC for the object, an allocation spent,
   * a session lost) leaves the interval reads, and is tried again on the next one.
   */
  async function subscribe(): Promise<void> {
    // A read that ends after the stop must not subscribe a stopped reader again.
    if (!reading) return;
    if (!o.changeEvents || streamState === 'on' || streamState === 'subscribing') return;
    await closeStream();
    streamState = 'subscribing';
    const channel = changeEventChannel(o.salesforce.target.object);
    try {
      const conn = await o.salesforce.connection();
      if (!reading) return await closeStream();
      const failed = () => {
        if (streamState !== 'on') return;
        streamState = 'failed';
        log.warn(
          { channel, poll_s: o.pollS },
          'Change Data Capture stopped; reading Salesforce every interval until it resumes',
        );
      };
      stream = openChangeStream(conn, channel, { onEvent: kick, onAuthFailure: failed });
      await stream.subscribed;
      if (!reading) return await closeStream();
      streamState = 'on';
      warnedUnavailable = false;
      log.info({ channel }, 'reading Salesforce on its change events');
    } catch (err) {
      // Closed by the stop, or by a newer subscription: theirs to say where the stream stands.
      if (err instanceof ChangeStreamClosed) return;
      await closeStream();
      streamState = 'failed';
      // Tried again at every interval: said once until it works.
      if (!warnedUnavailable)
        log.warn(
          { err: String(err), channel, poll_s: o.pollS },
          'Change Data Capture is unavailable; reading Salesforce every interval',
        );
      warnedUnavailable = true;
    }
  }

  async function closeStream(): Promise<void> {
    const s = stream;
    stream = undefined;
    if (streamState !== 'failed') streamState = 'off';
    await s?.close();
  }

  async function once(): Promise<SalesforceReadReport | undefined> {
    const org = o.org();
    if (!org || !o.ready()) return undefined;
    const source = `salesforce:${org}`;
    const startedAt = now();
    const stored = await readWatermark(o.sql, source);
    // The first read of a deployment starts from now: older edits are a reconciliation's.
    const watermark = stored === undefined ? startedAt : stored * 1000;
    const since = watermark - o.overlapS * 1000;
    const conn = await o.salesforce.connection();
    const us = await integrationUserId(conn);
    let changed = 0;
    forgetPublished(startedAt);
    for await (const page of readChangesSince(conn, o.salesforce.target, since)) {
      const ours = await catalogueRows(
        o.sql,
        page
          .filter((r) => r.lastModifiedById === us && UUID.test(r.externalId))
          .map((r) => r.externalId),
      );
      for (const r of page) {
        if (!UUID.test(r.externalId)) continue;
        const eventId = changeEventId(r);
        // Read before (the overlap), or our own write holding what the catalogue holds now: the
        // actor would drop it, and telling it costs a step.
        if (published.has(eventId)) continue;
        const row = ours.get(r.externalId);
        if (row && !row.deleted && holdsCatalogue(row.fields, r)) {
          published.set(eventId, startedAt);
          continue;
        }
        const event = recordChanged(r, us);
        await publish(r.externalId, event, eventId);
        published.set(eventId, startedAt);
        changed++;
      }
    }
    const end = Math.floor(startedAt / MINUTE_MS) * MINUTE_MS;
    const kept = end - DELETED_KEPT_MS + MINUTE_MS;
    let start = Math.min(Math.floor(since / MINUTE_MS) * MINUTE_MS, end - MINUTE_MS);
    if (start < kept) {
      // Salesforce refuses a window older than it keeps deletions: what was deleted before is
      // for a reconciliation to find (its links' records are looked up one by one).
      if (!gapSaid)
        log.warn(
          { since: new Date(start).toISOString(), kept_days: DELETED_KEPT_MS / 86_400_000 },
          'the last read of Salesforce is older than it keeps deletions: run a reconciliation to find records deleted meanwhile',
        );
      gapSaid = true;
      start = kept;
    }
    let deleted = 0;
    for (const d of await deletedBetween(conn, o.salesforce.target, start, end)) {
      const customerId = await customerForExternalId(o.sql, 'salesforce', d.salesforceId);
      if (!customerId) continue;
      const policy = o.salesforce.onRemoteDelete;
      const missing: SalesforceRecordMissing = {
        type: 'SalesforceRecordMissing',
        data: { recordId: d.salesforceId, policy },
        at: 0,
      };
      await publish(customerId, missing, `salesforce:deleted:${d.salesforceId}`);
      if (policy === 'unlink') await archiveLink(o.sql, customerId, 'salesforce', d.salesforceId);
      deleted++;
    }
    // Deletions are read up to the last whole minute: the next read starts no later than that.
    await advanceWatermark(o.sql, source, Math.floor(Math.min(startedAt, end) / 1000));
    const report = { since: Math.floor(since / 1000), changed, deleted };
    if (changed > 0 || deleted > 0) log.debug(report, 'read changes from Salesforce');
    return report;
  }

  const publish = (
    customerId: string,
    event: SalesforceRecordChanged | SalesforceRecordMissing,
    msgId: string,
  ) => publishTo(o, customerId, event, msgId);

  /** The first read at once (it sets a first deployment's watermark), then every interval. */
  function schedule(first = false): void {
    if (!reading || o.pollS <= 0) return;
    // Backs off while reads fail (up to ten intervals), and says so once per outage.
    const delayS = first ? 0 : o.pollS * Math.min(2 ** failures, 10);
    timer = setTimeout(() => {
      timer = undefined;
      void run()
        .then(() => {
          if (failures > 0) log.info({ failures }, 'reading Salesforce works again');
          failures = 0;
        })
        .catch((err: unknown) => {
          if (failures === 0)
            log.warn({ err: String(err) }, 'reading changes from Salesforce failed; retrying');
          failures++;
        })
        .finally(() => {
          void subscribe();
          schedule();
        });
    }, delayS * 1000);
    timer.unref?.();
  }

  async function halt(): Promise<void> {
    reading = false;
    if (timer) clearTimeout(timer);
    if (kickTimer) clearTimeout(kickTimer);
    timer = kickTimer = undefined;
    await closeStream();
    streamState = 'off';
    await running?.catch(() => undefined);
  }

  return {
    run,
    work: {
      lagSources: [],
      async start(partition) {
        if (partition !== 0 || reading) return;
        reading = true;
        log.info({ poll_s: o.pollS }, 'reading changes from Salesforce');
        schedule(true);
      },
      async stop(partition) {
        if (partition === 0) await halt();
      },
    },
    stop: halt,
  };
}
