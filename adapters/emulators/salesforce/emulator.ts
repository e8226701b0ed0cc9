// Starts the emulator: wires the state together, restores it from dataDir, and serves HTTP.
import { randomBytes, randomInt } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  EmulatorStats,
  RecordsOptions,
  SalesforceEmulator,
  SalesforceEmulatorOptions,
} from './api.ts';
import type { Identity, TokenSnapshot } from './auth.ts';
import { TokenIssuer } from './auth.ts';
import { SalesforceApiError } from './errors.ts';
import type { FaultSpec } from './faults.ts';
import { FaultRules } from './faults.ts';
import type { Reply } from './http.ts';
import { isPlainObject, readBody, send } from './http.ts';
import { makeId } from './ids.ts';
import type { PersonOptions, RecordRef } from './person.ts';
import { deleteAsPerson, editAsPerson } from './person.ts';
import { StateFile, StateFileError } from './persistence.ts';
import { controlReply } from './routes/control.ts';
import { identityReply, revokeReply, tokenReply } from './routes/oauth.ts';
import { handleRest, versionsReply } from './routes/rest.ts';
import { soapLoginReply } from './routes/soap.ts';
import { ORG_KEY_PREFIX, USER_KEY_PREFIX, findObject } from './schema.ts';
import { QueryCursors } from './soql/cursors.ts';
import { project } from './soql/execute.ts';
import type { EmulatorState } from './state.ts';
import type { StoreSnapshot } from './store.ts';
import { RecordStore } from './store.ts';
import { ApiUsage } from './usage.ts';

/** What dataDir holds. */
interface SavedState {
  readonly format: 1;
  readonly identity: Identity;
  /** Absent from files saved before it existed. */
  readonly personUserId?: string;
  readonly secrets: {
    readonly clientId: string;
    readonly clientSecret: string;
    readonly password: string;
  };
  readonly store: StoreSnapshot;
  readonly tokens: TokenSnapshot;
}

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
    this.state = {
      store: new RecordStore(changed, freshSequence(), identity.userId),
      tokens: new TokenIssuer(
        credentials,
        identity,
        options.tokenTtlMs ?? 2 * 60 * 60 * 1000,
        changed,
      ),
      usage: new ApiUsage(options.dailyApiLimit ?? 100_000),
      faults: new FaultRules(),
      cursors: new QueryCursors(options.queryBatchSize ?? 2000),
      loginUrl: () => this.loginUrl,
    };
    if (saved) {
      this.state.store.load(saved.store);
      this.state.tokens.load(saved.tokens);
    }
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
    this.file?.schedule();
  }

  stats(): EmulatorStats {
    return { ...this.state.usage.stats(), pendingFaults: this.state.faults.pending() };
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

  editAsPerson(
    type: string,
    ref: RecordRef,
    fields: Record<string, unknown>,
    options: PersonOptions = {},
  ): Record<string, unknown> {
    return editAsPerson(this.state.store, type, ref, fields, options.userId ?? this.personUserId);
  }

  deleteAsPerson(
    type: string,
    ref: RecordRef,
    options: PersonOptions = {},
  ): Record<string, unknown> {
    return deleteAsPerson(this.state.store, type, ref, options.userId ?? this.personUserId);
  }

  async flush(): Promise<void> {
    if (this.file) await this.file.flush();
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
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://emulator');
      const body = await readBody(req);
      send(res, await this.route(req, url, body));
    } catch (err) {
      const status = err instanceof SalesforceApiError ? err.status : 500;
      const errorCode = err instanceof SalesforceApiError ? err.errorCode : 'UNKNOWN_EXCEPTION';
      if (!res.headersSent)
        send(res, { status, body: [{ errorCode, message: (err as Error).message }] });
      else res.destroy();
    }
  }

  private async route(req: IncomingMessage, url: URL, body: string): Promise<Reply> {
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path.startsWith('/_emulator/')) return controlReply(method, path, body, this);
    if (path === '/services/oauth2/token') return tokenReply(method, body, this.state);
    if (path === '/services/oauth2/revoke') return revokeReply(url, body, this.state);
    if (path.startsWith('/id/'))
      return identityReply(
        req.headers.authorization,
        { orgId: this.orgId, userId: this.userId },
        this.username,
        this.state,
      );
    const soap = /^\/services\/Soap\/u\/(\d+\.\d)\/?$/.exec(path);
    if (soap && method === 'POST')
      return soapLoginReply(soap[1]!, body, { orgId: this.orgId, userId: this.userId }, this.state);
    if (path === '/services/data' || path === '/services/data/') return versionsReply();
    if (path.startsWith('/services/data/')) return handleRest(req, url, body, this.state);
    return {
      status: 404,
      body: [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }],
    };
  }
}

function savedState(value: unknown, path: string): SavedState | undefined {
  if (value === undefined) return undefined;
  const field = (v: unknown, key: string): unknown => (isPlainObject(v) ? v[key] : undefined);
  const valid =
    field(value, 'format') === 1 &&
    typeof field(field(value, 'identity'), 'orgId') === 'string' &&
    typeof field(field(value, 'secrets'), 'clientSecret') === 'string' &&
    Array.isArray(field(field(value, 'store'), 'records')) &&
    isPlainObject(field(field(value, 'tokens'), 'access'));
  if (!valid) throw new StateFileError(path);
  return value as SavedState;
}
