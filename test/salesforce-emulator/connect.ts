// Shared by the emulator suites: jsforce connections pointed at a running emulator.
import jsforce from 'jsforce';
import type { Connection } from 'jsforce';
import type { SalesforceEmulator } from '../../adapters/emulators/salesforce/index.ts';

export interface ConnectOptions {
  readonly version?: string;
  readonly callOptions?: Record<string, string>;
}

/** A client-credentials connection that runs the grant again when its session expires. */
export async function clientCredentialsConnection(
  emulator: SalesforceEmulator,
  options: ConnectOptions = {},
): Promise<Connection> {
  const conn = new jsforce.Connection({
    oauth2: {
      loginUrl: emulator.loginUrl,
      clientId: emulator.clientId,
      clientSecret: emulator.clientSecret,
    },
    ...(options.version ? { version: options.version } : {}),
    ...(options.callOptions ? { callOptions: options.callOptions } : {}),
    refreshFn: (c, callback) => {
      c.authorize({ grant_type: 'client_credentials' }).then(
        () => {
          callback(null, c.accessToken ?? undefined);
        },
        (err: Error) => {
          callback(err);
        },
      );
    },
  });
  await conn.authorize({ grant_type: 'client_credentials' });
  return conn;
}

/** A raw REST call with the connection's token, for what jsforce cannot express. */
export function rawRest(
  conn: Connection,
  method: string,
  path: string,
  body?: unknown,
): Promise<Response> {
  return fetch(`${conn.instanceUrl}/services/data/v${conn.version}${path}`, {
    method,
    headers: { Authorization: `Bearer ${conn.accessToken}`, 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** The rejection of a promise that must fail. */
export async function rejection(
  promise: PromiseLike<unknown>,
): Promise<Error & { errorCode?: string; data?: unknown }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { errorCode?: string; data?: unknown };
  }
  throw new Error('expected the call to fail');
}
