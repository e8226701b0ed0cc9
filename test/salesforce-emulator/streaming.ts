// Shared by the Change Data Capture suites: an emulator per test with jsforce connections and
// their faye clients, every one of which is disconnected, and the emulator stopped, when the test
// ends, whether it passed or not.
import type { Connection } from 'jsforce';
import jsforce from 'jsforce';
import { StreamingExtension } from 'jsforce/lib/api/streaming.js';
import type {
  ChangeEventData,
  SalesforceEmulator,
  SalesforceEmulatorOptions,
} from '../../adapters/emulators/salesforce/index.ts';
import { startSalesforceEmulator } from '../../adapters/emulators/salesforce/index.ts';
import { clientCredentialsConnection } from './connect.ts';

export { StreamingExtension };

/** The part of faye's client the tests use; faye ships no types. */
export interface FayeClient {
  subscribe(
    channel: string,
    listener: (data: unknown) => void,
  ): PromiseLike<unknown> & { cancel(): void };
  disconnect(): PromiseLike<unknown> | undefined;
}

/** The header of a change event, as the tests read it. */
export interface Header {
  entityName: string;
  recordIds: string[];
  changeType: string;
  changeOrigin: string;
  transactionKey: string;
  sequenceNumber: number;
  commitTimestamp: number;
  commitUser: string;
  commitNumber: number;
  changedFields: string[];
}

export const header = (event: ChangeEventData): Header => event.payload.ChangeEventHeader as Header;

/** Record fields of an event: the payload without its header. */
export function fieldsOf(event: ChangeEventData): Record<string, unknown> {
  const { ChangeEventHeader: _header, ...fields } = event.payload;
  return fields;
}

/** What one subscription received, in order. */
export class Inbox {
  readonly events: ChangeEventData[] = [];
  private wakers: (() => void)[] = [];

  readonly push = (data: unknown): void => {
    this.events.push(data as ChangeEventData);
    for (const wake of this.wakers.splice(0)) wake();
  };

  /** Resolves with the first `count` events once they are in; fails after `timeoutMs`. */
  async waitFor(count: number, timeoutMs = 3000): Promise<ChangeEventData[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length < count) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `expected ${count} events, got ${this.events.length}: ${JSON.stringify(this.events.map(header))}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wakers.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.events.slice(0, count);
  }

  replayIds(): number[] {
    return this.events.map((e) => e.event.replayId);
  }
}

export interface StreamingWorld {
  readonly emulator: SalesforceEmulator;
  /** API v62.0, `Sforce-Call-Options: client=rtws`. */
  readonly conn: Connection;
  /** Another connection, tracked for clean-up like the first. */
  readonly connection: (options?: { callOptions?: Record<string, string> }) => Promise<Connection>;
  /** A faye client of `conn.streaming.createClient`, disconnected when the test ends. */
  readonly client: (extensions?: unknown[], conn?: Connection) => FayeClient;
  /** Subscribes a new client, with the replay extension when `replayId` is given. */
  readonly subscribe: (channel: string, replayId?: number) => Promise<Subscriber>;
  /** A control endpoint call. */
  readonly control: (method: string, path: string, body?: unknown) => Promise<Response>;
}

export interface Subscriber {
  readonly client: FayeClient;
  readonly inbox: Inbox;
}

const VERSION = '62.0';

/** Runs `fn` against a fresh emulator; always disconnects its clients and closes it. */
export async function streamingScenario(
  fn: (world: StreamingWorld) => Promise<void>,
  options: SalesforceEmulatorOptions = {},
): Promise<void> {
  const emulator = await startSalesforceEmulator(options);
  const clients: FayeClient[] = [];
  const connections: Connection[] = [];
  try {
    const connection = async (
      extra: { callOptions?: Record<string, string> } = {},
    ): Promise<Connection> => {
      const conn = await clientCredentialsConnection(emulator, { version: VERSION, ...extra });
      connections.push(conn);
      return conn;
    };
    const conn = await connection({ callOptions: { client: 'rtws' } });
    const client = (extensions: unknown[] = [], via: Connection = conn): FayeClient => {
      const created = via.streaming.createClient(extensions) as unknown as FayeClient;
      clients.push(created);
      return created;
    };
    await fn({
      emulator,
      conn,
      connection,
      client,
      subscribe: async (channel, replayId) => {
        const extensions =
          replayId === undefined ? [] : [new StreamingExtension.Replay(channel, replayId)];
        const subscriber = { client: client(extensions), inbox: new Inbox() };
        await subscriber.client.subscribe(channel, subscriber.inbox.push);
        return subscriber;
      },
      control: (method, path, body) =>
        fetch(`${emulator.loginUrl}/_emulator${path}`, {
          method,
          headers: { 'Content-Type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        }),
    });
  } finally {
    // jsforce's topic() clients live inside the connection; faye keeps polling until told to stop.
    for (const conn of connections)
      clients.push(...(Object.values(conn.streaming._fayeClients) as unknown as FayeClient[]));
    await Promise.all(clients.map((c) => settle(c.disconnect())));
    await emulator.close();
  }
}

/** Waits for a faye deferrable for a while, whatever its outcome. */
async function settle(deferred: PromiseLike<unknown> | undefined, ms = 2000): Promise<void> {
  if (!deferred) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.resolve(deferred).catch(() => undefined),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
  ]);
  clearTimeout(timer);
}

/** The failure of a faye subscription that must be refused. */
export async function refusal(subscription: PromiseLike<unknown>): Promise<string> {
  try {
    await subscription;
  } catch (err) {
    return (err as { message: string }).message;
  }
  throw new Error('expected the subscription to be refused');
}

/** A connection holding a token the emulator never issued. */
export function forgedConnection(emulator: SalesforceEmulator): Connection {
  return new jsforce.Connection({
    instanceUrl: emulator.loginUrl,
    accessToken: 'forged-token',
    version: VERSION,
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
