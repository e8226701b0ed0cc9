// Salesforce's changes, read back: the records changed since the watermark (less
// RTWS_SALESFORCE_POLL_OVERLAP_S, SOQL on SystemModstamp) and those deleted meanwhile (getDeleted).
// Each is handed to its customer's actor on the customer's own subject, in order with the rest:
// - a changed record as `SalesforceRecordChanged` (the actor merges it, or drops our echo);
// - a deleted one as `SalesforceRecordMissing` with RTWS_SALESFORCE_ON_REMOTE_DELETE;
// - with RTWS_SALESFORCE_IMPORT_NEW, a record without our id as `SalesforceRecordAdopted`, once.
// With Change Data Capture (RTWS_SALESFORCE_CDC), each change event makes a read at once, and the
// interval read slows to a sweep (RTWS_SALESFORCE_SWEEP_S); without it, or once events stop,
// reads come every RTWS_SALESFORCE_POLL_S. The read says what a record holds, so a lost event, a
// gap or an overflow costs latency, never a change, and no replay id needs keeping. The events
// say more (change-events.ts): who made a change (the echo rule's "made by rtws"), deletions at
// once, and the values of a person's edit before a write of ours can land over it.
// One worker reads: the one holding partition 0, so a cluster pays the calls once. The
// watermark is kept per bound org in Postgres, so a restart or another worker resumes from it.
import type { Connection, SaveResult } from 'jsforce';
import type { Logger } from '../../../core/ports.ts';
import type { Names } from '../../../core/subjects.ts';
import type {
  SalesforceRecordAdopted,
  SalesforceRecordChanged,
  SalesforceRecordMissing,
} from '../../../actors/customer/index.ts';
import type { DurablePublisher } from '../../../core/ports.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import { advanceWatermark, readWatermark } from '../../../adapters/postgres/catchup-watermarks.ts';
import { archiveLink, customerForExternalId } from '../../../adapters/postgres/links.ts';
import {
  deletedBetween,
  readBornSince,
  readChangesSince,
  type BornRecord,
  type ChangedRecord,
} from '../../../adapters/salesforce/changes.ts';
import {
  decideImport,
  markImportDuplicate,
  SALESFORCE_IMPORT_REASONS,
} from '../../../adapters/postgres/salesforce-imports.ts';
import {
  fieldsOfRecord,
  syncedFieldsOf,
  valuesOfFields,
} from '../../../adapters/salesforce/mapper.ts';
import { fieldMapOf } from '../../../adapters/salesforce/target.ts';
import { catalogueRows } from '../../../adapters/postgres/reconciliations.ts';
import type { CanonicalFields } from '../../../core/canonical.ts';
import { holdsPatch } from '../../../core/policy/push.ts';
import { integrationUserId } from '../../../adapters/salesforce/read-back.ts';
import {
  classifySalesforceError,
  loggableSalesforceError,
} from '../../../adapters/salesforce/classify.ts';
import {
  ChangeOrigins,
  changeEventChannel,
  deletedByOthers,
  editsHeard,
  type EditHeard,
} from '../../../adapters/salesforce/change-events.ts';
import {
  ChangeStreamClosed,
  openChangeStream,
  type ChangeStream,
} from '../../../adapters/salesforce/change-stream.ts';
import { publishTo } from '../backfill/import-handover.ts';
import type { SalesforceReadDeps } from '../backfill/reconcile-salesforce.ts';
import type { PartitionWork } from '../worker/partition-work.ts';
import type { BindingStamp } from '../../../actors/customer/outcome-message.ts';

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
  /** The Stripe binding, stamped on what names a Stripe object (a catalogue row's Stripe id). */
  readonly binding?: () => BindingStamp | undefined;
  readonly pollS: number;
  /** The interval read while change events arrive: a sweep for any they missed (default pollS). */
  readonly sweepS?: number;
  readonly overlapS: number;
  /**
   * Subscribe to the object's Change Data Capture channel: each change event (ours included)
   * makes a read at once, so an edit arrives within about a second rather than an interval.
   */
  readonly changeEvents?: boolean;
  /**
   * Import records created in Salesforce without our external id (RTWS_SALESFORCE_IMPORT_NEW),
   * matched by email (`matchBy`) and settled by `merge` (RTWS_MATCH_BY, RTWS_MATCH_MERGE).
   */
  readonly importNew?: {
    readonly matchBy: 'email' | 'none';
    readonly merge: 'stripe' | 'catalogue';
  };
  /** How long a read waits after a change event for more of them (default 250 ms). */
  readonly settleMs?: number;
  readonly now?: () => number;
}

export interface SalesforceReadReport {
  readonly since: number;
  readonly changed: number;
  readonly deleted: number;
  /** Records created in Salesforce imported by this read. */
  readonly imported: number;
}

/** Which reader is active in this process, and why: /readyz's details. */
export interface SalesforceReaderStatus {
  /**
   * `change_events`: reads follow the object's change events, with a sweep every `interval_s`;
   * `polling`: a read every `interval_s`; `elsewhere`: another worker holds partition 0 and reads.
   */
  readonly reader: 'change_events' | 'polling' | 'elsewhere';
  readonly why: string;
  readonly interval_s: number;
  readonly last_read_at: string | null;
  /** The last read's failure, until a read succeeds. */
  readonly last_error: string | null;
}

export interface SalesforceChanges {
  /** One read now (callers meanwhile share it); rejects if Salesforce, NATS or Postgres fails. */
  run(): Promise<SalesforceReadReport | undefined>;
  status(): SalesforceReaderStatus;
  /** Partition 0's work: reading starts with its lease and stops with it. */
  readonly work: PartitionWork;
  stop(): Promise<void>;
}

/** What a change is known by, to the actor and to JetStream, whoever read it. */
export function changeEventId(r: ChangedRecord): string {
  return `salesforce:${r.salesforceId}:${r.modifiedAt}`;
}

/**
 * A person's edit a change event told, for its customer's actor, with the fields of it a write
 * of ours has changed since (`overwritten`): that write came later, and holds.
 */
function editChanged(e: EditHeard, overwritten: readonly string[]): SalesforceRecordChanged {
  return {
    type: 'SalesforceRecordChanged',
    data: {
      eventId: e.eventId,
      recordId: e.recordId,
      fields: e.fields,
      ...(Object.keys(e.putBack).length > 0 ? { putBack: e.putBack } : {}),
      modifiedAt: e.modifiedAt,
      byUs: false,
      ...(overwritten.length > 0 ? { overwritten: [...overwritten] } : {}),
    },
    at: 0,
  };
}

/**
 * The change for its customer's actor; `byUs`: written by rtws (see `ChangeOrigins`);
 * `queriedAt`: when the query that read it was sent.
 */
export function recordChanged(
  r: ChangedRecord,
  byUs: boolean,
  queriedAt: number,
): SalesforceRecordChanged {
  return {
    type: 'SalesforceRecordChanged',
    data: {
      eventId: changeEventId(r),
      recordId: r.salesforceId,
      fields: r.fields,
      ...(Object.keys(r.putBack).length > 0 ? { putBack: r.putBack } : {}),
      modifiedAt: r.modifiedAt,
      ...(r.createdAt === undefined ? {} : { createdAt: r.createdAt }),
      byUs,
      queriedAt,
    },
    at: 0,
  };
}

/**
 * How long reads go on by polling after change events failed before the subscription is tried
 * again: an org without CDC, or with its delivery allocation spent, is not asked at every read.
 */
const RESUBSCRIBE_AFTER_MS = 5 * 60_000;

/** How soon a read that had to wait is tried again, at most. */
const WAITED_RETRY_S = 5;

/** Failures of a call that a later read tries again. */
const AGAIN = new Set(['transient', 'rate_limited', 'uncertain', 'no_response']);

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
  let minuteTimer: NodeJS.Timeout | undefined;
  let stream: ChangeStream | undefined;
  let streamState: 'off' | 'subscribing' | 'on' | 'failed' = 'off';
  /** Why change events are not what reads follow, when they are not. */
  let streamWhy = o.changeEvents ? 'subscribing to change events' : 'RTWS_SALESFORCE_CDC is false';
  let lastReadAt: number | undefined;
  let lastError: string | undefined;

  let warnedUnavailable = false;
  /** Not before then is a failed subscription tried again. */
  let subscribeAgainAt = 0;
  /** The last interval read had to wait: it is tried again soon, not after a sweep. */
  let waited = false;
  let gapSaid = false;

  // A change event during a read (whatever started it) makes one more read after it.
  const run = () =>
    (running ??= once()
      .then(
        (report) => {
          if (report) [lastReadAt, lastError] = [now(), undefined];
          return report;
        },
        (err: unknown) => {
          lastError = String(err);
          throw err;
        },
      )
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          kick();
        }
      }));

  const origins = new ChangeOrigins();
  /** Persons' edits change events told, handed on at the next read, before its query. */
  const editsQueued: EditHeard[] = [];
  /** Records change events said were deleted, told to their actors at the next read. */
  const deletionsHeard = new Set<string>();

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
        log.warn(
          { err: loggableSalesforceError(err) },
          'reading changes from Salesforce failed; retrying',
        ),
      );
    }, o.settleMs ?? 250);
  }

  /**
   * Subscribes with replay -1 (new events only): what happened before is the read's, from its
   * watermark. A subscription that fails (an org without CDC for the object, an allocation spent,
   * a session lost) leaves the interval reads, and is tried again at the first read 5 minutes on.
   */
  async function subscribe(): Promise<void> {
    // A read that ends after the stop must not subscribe a stopped reader again.
    if (!reading) return;
    if (!o.changeEvents || streamState === 'on' || streamState === 'subscribing') return;
    if (now() < subscribeAgainAt) return;
    await closeStream();
    streamState = 'subscribing';
    const channel = changeEventChannel(o.salesforce.target.object);
    try {
      const conn = await o.salesforce.connection();
      if (!reading) return await closeStream();
      const failed = (message: { error?: string } | undefined) => {
        if (streamState !== 'on') return;
        streamState = 'failed';
        subscribeAgainAt = now() + RESUBSCRIBE_AFTER_MS;
        streamWhy = `change events stopped: ${message?.error ?? 'the session ended'}`;
        log.warn(
          { channel, poll_s: o.pollS, err: message?.error ?? '' },
          'Change Data Capture stopped; reading Salesforce every interval until it resumes',
        );
        reschedule();
      };
      const heard = (event: unknown) => {
        origins.heard(event);
        for (const id of deletedByOthers(event)) deletionsHeard.add(id);
        editsQueued.push(...editsHeard(o.salesforce.target, event));
        kick();
      };
      stream = openChangeStream(conn, channel, { onEvent: heard, onAuthFailure: failed });
      await stream.subscribed;
      if (!reading) return await closeStream();
      streamState = 'on';
      streamWhy = `subscribed to ${channel}`;
      warnedUnavailable = false;
      log.info({ channel, sweep_s: intervalS() }, 'reading Salesforce on its change events');
      reschedule();
      // Events tell only of what happens from now: what happened since the last read is read now,
      // and the deletions of this minute, which getDeleted lists once it is over, just after it.
      kick();
      if (minuteTimer) clearTimeout(minuteTimer);
      minuteTimer = setTimeout(
        () => {
          minuteTimer = undefined;
          kick();
        },
        MINUTE_MS - (now() % MINUTE_MS) + 2_000,
      );
      minuteTimer.unref?.();
    } catch (err) {
      // Closed by the stop, or by a newer subscription: theirs to say where the stream stands.
      if (err instanceof ChangeStreamClosed) return;
      await closeStream();
      streamState = 'failed';
      subscribeAgainAt = now() + RESUBSCRIBE_AFTER_MS;
      streamWhy = `change events are unavailable: ${String(err)}`;
      // Tried again every 5 minutes: said once until it works.
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
    while (editsQueued.length > 0) {
      const edit = editsQueued[0]!;
      const customerId = await customerForExternalId(o.sql, 'salesforce', edit.recordId);
      if (customerId) {
        const written = origins.writtenSince(edit.recordId, edit.modifiedAt);
        const overwritten = syncedFieldsOf(fieldMapOf(o.salesforce.target), written);
        await publish(customerId, editChanged(edit, overwritten), edit.eventId);
        changed++;
      }
      editsQueued.shift();
    }
    let deletedAtOnce = 0;
    for (const id of [...deletionsHeard]) {
      if (await tellDeleted(id)) deletedAtOnce++;
      deletionsHeard.delete(id);
    }
    forgetPublished(startedAt);
    // Before the query is sent: no record it reads was read earlier than this.
    const queriedAt = now();
    for await (const page of readChangesSince(conn, o.salesforce.target, since)) {
      const byUs = new Map(page.map((r) => [r, origins.byUs(r, us)]));
      const ours = await catalogueRows(
        o.sql,
        page.filter((r) => byUs.get(r) && UUID.test(r.externalId)).map((r) => r.externalId),
      );
      for (const r of page) {
        if (!UUID.test(r.externalId)) continue;
        const eventId = changeEventId(r);
        // Read before (the overlap), or our own write holding what the catalogue holds now: the
        // actor would drop it, and telling it costs a step.
        if (published.has(eventId)) continue;
        const row = byUs.get(r) ? ours.get(r.externalId) : undefined;
        if (row && !row.deleted && holdsCatalogue(row.fields, r)) {
          published.set(eventId, startedAt);
          continue;
        }
        const event = recordChanged(r, byUs.get(r) ?? false, queriedAt);
        await publish(r.externalId, event, eventId);
        published.set(eventId, startedAt);
        changed++;
      }
    }
    let imported = 0;
    if (o.importNew)
      for await (const page of readBornSince(conn, o.salesforce.target, since))
        for (const r of page) if (await adopt(conn, org, r)) imported++;
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
    for (const d of await deletedBetween(conn, o.salesforce.target, start, end))
      if (await tellDeleted(d.salesforceId)) deleted++;
    // Deletions are read up to the last whole minute: the next read starts no later than that.
    await advanceWatermark(o.sql, source, Math.floor(Math.min(startedAt, end) / 1000));
    const report = {
      since: Math.floor(since / 1000),
      changed,
      deleted: deletedAtOnce + deleted,
      imported,
    };
    if (changed > 0 || report.deleted > 0 || imported > 0)
      log.debug(report, 'read changes from Salesforce');
    return report;
  }

  /**
   * A record created in Salesforce without our external id, imported once: its decision is
   * recorded first (a match claims the customer's link with it), then handed to the customer's
   * actor, and only then is the record given our id, which takes it out of this query. A crash
   * between the steps repeats them under the same decision and message id. False when nothing
   * was imported.
   */
  async function adopt(conn: Connection, org: string, r: BornRecord): Promise<boolean> {
    const importNew = o.importNew!;
    const record = r.salesforceId;
    const d = await decideImport(o.sql, {
      recordId: record,
      org,
      email: r.email,
      matchBy: importNew.matchBy,
    });
    if (d.customerId === null) {
      if (d.decidedNow)
        log.warn(
          { record, decision: d.decision, reason: SALESFORCE_IMPORT_REASONS[d.decision] },
          'a record created in Salesforce is not imported',
        );
      return false;
    }
    const adopted: SalesforceRecordAdopted = {
      type: 'SalesforceRecordAdopted',
      data: {
        recordId: record,
        fields: r.fields,
        ...(Object.keys(r.putBack).length > 0 ? { putBack: r.putBack } : {}),
        modifiedAt: r.modifiedAt,
        born: d.decision === 'insert',
        policy: importNew.merge,
      },
      at: 0,
    };
    await publish(d.customerId, adopted, `salesforce:import:${record}`);
    const { object, externalIdField } = o.salesforce.target;
    // Refused for good (the field is not updateable, say): left, and said; a transient failure
    // fails the read, whose watermark then stays, so the record is read again.
    const refused = await conn
      .sobject(object)
      .update({ Id: record, [externalIdField]: d.customerId })
      .then(
        (result: SaveResult) =>
          result.success ? undefined : result.errors.map((e) => e.errorCode).join(', '),
        (err: unknown) => {
          if (AGAIN.has(classifySalesforceError(err).failure)) throw err;
          return String((err as { errorCode?: unknown }).errorCode ?? err);
        },
      );
    if (refused?.includes('DUPLICATE_VALUE')) await markImportDuplicate(o.sql, record);
    if (refused !== undefined) {
      log.warn(
        {
          record,
          customer_id: d.customerId,
          err: refused,
          reason: refused.includes('DUPLICATE_VALUE')
            ? SALESFORCE_IMPORT_REASONS.duplicate
            : `Salesforce refused to set ${externalIdField}`,
        },
        'a record created in Salesforce is not imported',
      );
      return false;
    }
    if (d.decidedNow)
      log.info(
        { record, customer_id: d.customerId, decision: d.decision },
        'imported a record created in Salesforce',
      );
    return true;
  }

  /**
   * A linked record deleted in Salesforce, to its customer's actor under the policy; false when no
   * customer is linked to it (any more). Told again, it is the same message.
   */
  async function tellDeleted(recordId: string): Promise<boolean> {
    const customerId = await customerForExternalId(o.sql, 'salesforce', recordId);
    if (!customerId) return false;
    const policy = o.salesforce.onRemoteDelete;
    const missing: SalesforceRecordMissing = {
      type: 'SalesforceRecordMissing',
      data: { recordId, policy },
      at: 0,
    };
    await publish(customerId, missing, `salesforce:deleted:${recordId}`);
    if (policy === 'unlink') await archiveLink(o.sql, customerId, 'salesforce', recordId);
    return true;
  }

  const publish = (
    customerId: string,
    event: SalesforceRecordChanged | SalesforceRecordMissing | SalesforceRecordAdopted,
    msgId: string,
  ) => publishTo(o, customerId, event, msgId);

  /** A sweep while change events arrive, the poll interval otherwise. */
  const intervalS = () => (streamState === 'on' ? (o.sweepS ?? o.pollS) : o.pollS);

  /** The first read at once (it sets a first deployment's watermark), then every interval. */
  function schedule(first = false): void {
    if (!reading || o.pollS <= 0) return;
    // Backs off while reads fail (up to ten intervals), and says so once per outage. A read that
    // had to wait (the org not verified yet, the daily share spent) is tried again soon.
    const delayS = first
      ? 0
      : waited
        ? Math.min(intervalS(), WAITED_RETRY_S)
        : intervalS() * Math.min(2 ** failures, 10);
    timer = setTimeout(() => {
      timer = undefined;
      void run()
        .then((report) => {
          if (failures > 0) log.info({ failures }, 'reading Salesforce works again');
          failures = 0;
          waited = report === undefined;
        })
        .catch((err: unknown) => {
          if (failures === 0)
            log.warn(
              { err: loggableSalesforceError(err) },
              'reading changes from Salesforce failed; retrying',
            );
          failures++;
        })
        .finally(() => {
          void subscribe();
          schedule();
        });
    }, delayS * 1000);
    timer.unref?.();
  }

  /** The reader changed: the waiting interval read is timed again from now. */
  function reschedule(): void {
    if (!timer) return;
    clearTimeout(timer);
    timer = undefined;
    schedule();
  }

  async function halt(): Promise<void> {
    reading = false;
    if (timer) clearTimeout(timer);
    if (kickTimer) clearTimeout(kickTimer);
    if (minuteTimer) clearTimeout(minuteTimer);
    timer = kickTimer = minuteTimer = undefined;
    await closeStream();
    streamState = 'off';
    await running?.catch(() => undefined);
  }

  return {
    run,
    status: () => ({
      reader: !reading ? 'elsewhere' : streamState === 'on' ? 'change_events' : 'polling',
      why: !reading ? 'another worker holds partition 0, and reads' : streamWhy,
      interval_s: intervalS(),
      last_read_at: lastReadAt === undefined ? null : new Date(lastReadAt).toISOString(),
      last_error: lastError ?? null,
    }),
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
