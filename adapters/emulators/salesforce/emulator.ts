// Starts the emulator: wires the state together, restores it from dataDir, and serves HTTP.
import { randomBytes, randomInt } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  ChangeEventData,
  EmulatorStats,
  ForgetDeletedOptions,
  ForgetEventsOptions,
  RecordsOptions,
  SalesforceEmulator,
  SalesforceEmulatorOptions,
} from './api.ts';
import { buildState, restoreState } from './build-state.ts';
import type { ChangeEvent, GapEventSpec, OverflowEventSpec } from './cdc/index.ts';
import { CometdEndpoint } from './cometd/endpoint.ts';
import { SalesforceApiError } from './errors.ts';
import type { FaultSpec } from './faults.ts';
import { readBody, send } from './http.ts';
import { makeId } from './ids.ts';
import type { PersonOptions, RecordRef } from './person.ts';
import { createAsPerson, deleteAsPerson, editAsPerson, undeleteAsPerson } from './person.ts';
import { StateFile } from './persistence.ts';
import type { Routing } from './routes/root.ts';
import { routeRequest } from './routes/root.ts';
import { ORG_KEY_PREFIX, USER_KEY_PREFIX, findObject } from './schema.ts';
import { project } from './soql/execute.ts';
import type { SavedState } from './saved-state.ts';
import { savedState } from './saved-state.ts';
import type { EmulatorState } from './state.ts';

const DEFAULT_CLIENT_ID = 'rtws-emulator';
const DEFAULT_USERNAME = 'integration@rtws.emulator';

// Starting the sequence high gives ids with a realistic mix of digits and letters.
const freshSequence = (): number => randomInt(62 ** 6, 62 ** 7);
const secret = (): string => randomBytes(24).toString('base64url');

export async function startSalesforceEmulator(
  options: SalesforceEmulatorOptions = {},
): Promise<SalesforceEmulator> {
  const emulator = new EmulatorServer(options);
  await emulator.listen(options.host ?? '127.0.0.1', options.port ?? 0);
  return emulator;
}

class EmulatorServer implements SalesforceEmulator {
  loginUrl = '';
  port = 0;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly username: string;
  readonly password: string;
  readonly orgId: string;
  readonly userId: string;
  readonly personUserId: string;
  private readonly state: EmulatorState;
  private readonly cometd: CometdEndpoint;
  private readonly routing: Routing;
  private readonly file: StateFile | undefined;
  private readonly server: Server;
  private closing: Promise<void> | undefined;

  constructor(options: SalesforceEmulatorOptions) {
    const changed = (): void => this.file?.schedule();
    this.file = options.dataDir
      ? new StateFile(options.dataDir, options.persistDelayMs ?? 100, () => this.saved())
      : undefined;
    const saved = this.file ? savedState(this.file.read(), this.file.path) : undefined;
    this.clientId = options.clientId ?? saved?.secrets.clientId ?? DEFAULT_CLIENT_ID;
    this.clientSecret = options.clientSecret ?? saved?.secrets.clientSecret ?? secret();
    this.username = options.username ?? DEFAULT_USERNAME;
    this.password = options.password ?? saved?.secrets.password ?? secret();
    const identity = saved?.identity ?? {
      orgId: makeId(ORG_KEY_PREFIX, freshSequence()),
      userId: makeId(USER_KEY_PREFIX, freshSequence()),
    };
    this.orgId = identity.orgId;
    this.userId = identity.userId;
    this.personUserId = saved?.personUserId ?? makeId(USER_KEY_PREFIX, freshSequence());
    const credentials = {
      clientId: this.clientId,
      clientSecret: this.clientSecret,
      username: this.username,
      password: this.password,
    };
    this.state = buildState({
      options,
      credentials,
      identity,
      sequence: freshSequence(),
      changed,
      loginUrl: () => this.loginUrl,
    });
    if (saved) restoreState(this.state, saved);
    this.cometd = new CometdEndpoint(
      this.state.tokens,
      this.state.cdc,
      options.cometdTimeoutMs ?? 110_000,
    );
    this.routing = {
      emulator: this,
      state: this.state,
      cometd: this.cometd,
      identity,
      username: this.username,
    };
    this.server = createServer(
      { keepAliveTimeout: 5_000 },
      (req, res) => void this.handle(req, res),
    );
  }

  async listen(host: string, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    const urlHost =
      host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    this.loginUrl = `http://${urlHost}:${this.port}`;
    // Make sure a fresh dataDir holds the generated secrets at once.
    if (this.file) await this.file.flush();
  }

  close(): Promise<void> {
    // A second close must not save this instance's state over a successor's.
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    this.cometd.close();
    await closed;
    if (this.file) await this.file.flush();
  }

  expireTokens(): void {
    this.state.tokens.expireAll();
  }

  injectFault(spec: FaultSpec): void {
    this.state.faults.add(spec);
  }

  clearFaults(): void {
    this.state.faults.clear();
  }

  exhaustQuota(): void {
    this.state.usage.exhaust();
  }

  restoreQuota(): void {
    this.state.usage.restore();
  }

  setDailyApiLimit(limit: number): void {
    this.state.usage.setLimit(limit);
  }

  setApiUsage(used: number): void {
    this.state.usage.setUsed(used);
  }

  reset(): void {
    this.state.store.clear(freshSequence());
    this.state.usage.reset();
    this.state.faults.clear();
    this.state.cursors.clear();
    this.state.cdc.reset();
    this.state.deleteLog.clear();
    this.file?.schedule();
  }

  stats(): EmulatorStats {
    const { bus, delivery } = this.state.cdc;
    return {
      ...this.state.usage.stats(),
      pendingFaults: this.state.faults.pending(),
      events: {
        retainedEvents: bus.retained().length,
        latestReplayId: bus.latestReplayId(),
        ...delivery.stats(),
        streamingClients: this.cometd.clients(),
      },
    };
  }

  apiCalls(): number {
    return this.state.usage.stats().apiCalls;
  }

  records(type: string, options: RecordsOptions = {}): Record<string, unknown>[] {
    const object = findObject(type);
    if (!object) throw new SalesforceApiError(404, 'NOT_FOUND', `unknown sObject type ${type}`);
    const rows: Record<string, unknown>[] = [];
    for (const record of this.state.store.records(object)) {
      if (options.includeDeleted || record.fields.IsDeleted !== true)
        rows.push(project(object, record, object.fields, 'v62.0'));
    }
    return rows;
  }

  // A person's change in the UI is a transaction of its own, with an empty changeOrigin.
  createAsPerson(
    type: string,
    fields: Record<string, unknown>,
    options: PersonOptions = {},
  ): Record<string, unknown> {
    return this.asPerson(options, (by) => createAsPerson(this.state.store, type, fields, by));
  }

  editAsPerson(
    type: string,
    ref: RecordRef,
    fields: Record<string, unknown>,
    options: PersonOptions = {},
  ): Record<string, unknown> {
    return this.asPerson(options, (by) => editAsPerson(this.state.store, type, ref, fields, by));
  }

  deleteAsPerson(
    type: string,
    ref: RecordRef,
    options: PersonOptions = {},
  ): Record<string, unknown> {
    return this.asPerson(options, (by) => deleteAsPerson(this.state.store, type, ref, by));
  }

  undeleteAsPerson(type: string, id: string, options: PersonOptions = {}): Record<string, unknown> {
    return this.asPerson(options, (by) => undeleteAsPerson(this.state.store, type, id, by));
  }

  changeEvents(): ChangeEventData[] {
    return this.state.cdc.bus.retained().map(eventData);
  }

  forgetChangeEvents(options: ForgetEventsOptions = {}): number {
    return this.state.cdc.bus.forget(options.upToReplayId);
  }

  emitGapEvent(spec: GapEventSpec): ChangeEventData {
    return eventData(this.state.cdc.emitGap(spec, this.personUserId));
  }

  emitOverflowEvent(spec: OverflowEventSpec): ChangeEventData {
    return eventData(this.state.cdc.emitOverflow(spec, this.personUserId));
  }

  setDailyDeliveredEventLimit(limit: number): void {
    this.state.cdc.delivery.setLimit(limit);
  }

  setDeliveredEvents(delivered: number): void {
    this.state.cdc.delivery.setUsed(delivered);
  }

  dropStreamingClients(): number {
    return this.cometd.dropClients();
  }

  setDeletedRetention(ms: number): void {
    this.state.deleteLog.setRetention(ms);
  }

  forgetDeletedRecords(options: ForgetDeletedOptions = {}): number {
    const before = options.before === undefined ? Date.now() : new Date(options.before).getTime();
    if (Number.isNaN(before))
      throw new SalesforceApiError(400, 'INVALID_REQUEST', 'before must be a date');
    return this.state.deleteLog.forget(before);
  }

  async flush(): Promise<void> {
    if (this.file) await this.file.flush();
  }

  private asPerson<T>(options: PersonOptions, change: (userId: string) => T): T {
    return this.state.cdc.run('', () => change(options.userId ?? this.personUserId));
  }

  private saved(): SavedState {
    return {
      format: 1,
      identity: { orgId: this.orgId, userId: this.userId },
      personUserId: this.personUserId,
      secrets: {
        clientId: this.clientId,
        clientSecret: this.clientSecret,
        password: this.password,
      },
      store: this.state.store.snapshot(),
      tokens: this.state.tokens.snapshot(),
      changeEvents: this.state.cdc.bus.snapshot(),
      deleteLog: this.state.deleteLog.snapshot(),
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://emulator');
      const body = await readBody(req);
      const gone = new AbortController();
      res.once('close', () => gone.abort());
      const reply = await routeRequest(this.routing, req, url, body, gone.signal);
      if (!res.destroyed) send(res, reply);
    } catch (err) {
      const status = err instanceof SalesforceApiError ? err.status : 500;
      const errorCode = err instanceof SalesforceApiError ? err.errorCode : 'UNKNOWN_EXCEPTION';
      if (!res.headersSent)
        send(res, { status, body: [{ errorCode, message: (err as Error).message }] });
      else res.destroy();
    }
  }
}

const eventData = (event: ChangeEvent): ChangeEventData => ({
  schema: event.schema,
  payload: structuredClone(event.payload),
  event: { replayId: event.replayId },
});
