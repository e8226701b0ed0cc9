// The public face of a running emulator: options, and the methods that mirror the control endpoints.
import type { GapEventSpec, OverflowEventSpec } from './cdc/index.ts';
import type { FaultSpec } from './faults.ts';
import type { PersonOptions, RecordRef } from './person.ts';
import type { UsageStats } from './usage.ts';

export interface SalesforceEmulatorOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: a free port. */
  readonly port?: number;
  /** Default `rtws-emulator`, or the one saved in `dataDir`. */
  readonly clientId?: string;
  /** Default: generated once, then kept in `dataDir` when there is one. */
  readonly clientSecret?: string;
  /** For the password grant; default `integration@rtws.emulator`. */
  readonly username?: string;
  /** For the password grant; default: generated once, then kept in `dataDir`. */
  readonly password?: string;
  /** Where state survives restarts; in memory only when omitted. */
  readonly dataDir?: string;
  /** Default 100000 calls a day. */
  readonly dailyApiLimit?: number;
  /** Access token lifetime; default two hours. */
  readonly tokenTtlMs?: number;
  /** Rows per query page before `nextRecordsUrl`; default 2000. */
  readonly queryBatchSize?: number;
  /** Debounce for saving to `dataDir`; default 100 ms. */
  readonly persistDelayMs?: number;
  /** How long change events stay retained for replay; default 72 hours. */
  readonly eventRetentionMs?: number;
  /** How long deleted records stay in the recycle bin and the delete log; default 15 days. */
  readonly deletedRetentionMs?: number;
  /** Events delivered to CometD subscribers per day (`DailyDeliveredPlatformEvents`); default 50000. */
  readonly dailyDeliveredEventLimit?: number;
  /** How long a CometD `/meta/connect` is held when no event comes (`advice.timeout`); default 110 s. */
  readonly cometdTimeoutMs?: number;
}

export interface EventStats {
  /** Change events still retained for replay. */
  readonly retainedEvents: number;
  /** The replay id of the newest change event; 0 before the first. */
  readonly latestReplayId: number;
  /** Events delivered to CometD subscribers today, each subscriber and channel counted. */
  readonly deliveredEvents: number;
  readonly dailyDeliveredEventLimit: number;
  /** Live CometD client sessions. */
  readonly streamingClients: number;
}

export interface EmulatorStats extends UsageStats {
  /** Injected failures still to be served. */
  readonly pendingFaults: number;
  readonly events: EventStats;
}

/** A change event as a subscriber's callback receives it (the Bayeux message's `data`). */
export interface ChangeEventData {
  readonly schema: string;
  readonly payload: Record<string, unknown>;
  readonly event: { readonly replayId: number };
}

export interface ForgetEventsOptions {
  /** Forget only the events up to and including this replay id; default every retained event. */
  readonly upToReplayId?: number;
}

export interface ForgetDeletedOptions {
  /** Forget the records deleted at or before this time; default now. */
  readonly before?: Date | string | number;
}

export interface RecordsOptions {
  /** Include records in the recycle bin; default false. */
  readonly includeDeleted?: boolean;
}

/** A running emulator. */
export interface SalesforceEmulator {
  /** Base URL: the OAuth login URL and the `instance_url` tokens point at. */
  readonly loginUrl: string;
  readonly port: number;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly username: string;
  readonly password: string;
  readonly orgId: string;
  /** The integration user: every API session's user, and the author of every API write. */
  readonly userId: string;
  /** Another user of the org, who edits and deletes records in Salesforce's UI by default. */
  readonly personUserId: string;
  /** Saves state (with a dataDir) and stops listening, closing open connections. */
  close(): Promise<void>;
  /** Every access token stops working; the next REST call gets 401 INVALID_SESSION_ID. */
  expireTokens(): void;
  /** The next `count` matching REST requests fail with the given status and error code. */
  injectFault(spec: FaultSpec): void;
  clearFaults(): void;
  /** Every REST call gets 403 REQUEST_LIMIT_EXCEEDED until `restoreQuota()`. */
  exhaustQuota(): void;
  restoreQuota(): void;
  setDailyApiLimit(limit: number): void;
  /** Sets the calls the org has used today, as other clients' calls would (per-endpoint counts stay). */
  setApiUsage(used: number): void;
  /** Drops all records, counters, faults and query cursors; sessions stay valid. */
  reset(): void;
  stats(): EmulatorStats;
  apiCalls(): number;
  /** Records of a type in REST form, with every field. */
  records(type: string, options?: RecordsOptions): Record<string, unknown>[];
  /**
   * Changes fields of a live record as a person in Salesforce would: validated as an API update,
   * stamped with that person as `LastModifiedById`, no API call counted. Returns the record.
   */
  editAsPerson(
    type: string,
    ref: RecordRef,
    fields: Record<string, unknown>,
    options?: PersonOptions,
  ): Record<string, unknown>;
  /** Deletes a live record as a person would: it leaves queries; `/queryAll` shows it deleted. */
  deleteAsPerson(type: string, ref: RecordRef, options?: PersonOptions): Record<string, unknown>;
  /** Creates a record as a person would, validated as an API create. Returns the record. */
  createAsPerson(
    type: string,
    fields: Record<string, unknown>,
    options?: PersonOptions,
  ): Record<string, unknown>;
  /** Restores a record from the recycle bin as a person would. Returns the record. */
  undeleteAsPerson(type: string, id: string, options?: PersonOptions): Record<string, unknown>;
  /** The change events still retained, oldest first. */
  changeEvents(): ChangeEventData[];
  /** Forgets retained change events, as if they had outlived retention; returns how many. */
  forgetChangeEvents(options?: ForgetEventsOptions): number;
  /** Publishes a gap event (`GAP_CREATE|GAP_UPDATE|GAP_DELETE|GAP_UNDELETE`) naming records. */
  emitGapEvent(spec: GapEventSpec): ChangeEventData;
  /** Publishes an overflow event (`GAP_OVERFLOW`) for an entity. */
  emitOverflowEvent(spec: OverflowEventSpec): ChangeEventData;
  /** Changes the daily event delivery allocation. */
  setDailyDeliveredEventLimit(limit: number): void;
  /** Sets the events delivered so far today, as the org's other subscribers would have used them. */
  setDeliveredEvents(delivered: number): void;
  /** Ends every CometD session, as a server restart would; returns how many there were. */
  dropStreamingClients(): number;
  /** Changes how long deleted records stay in the delete log. */
  setDeletedRetention(ms: number): void;
  /** Empties the recycle bin of records deleted up to a time; returns how many were forgotten. */
  forgetDeletedRecords(options?: ForgetDeletedOptions): number;
  /** Saves to dataDir now. */
  flush(): Promise<void>;
}
