// One whole rtws in this process, as `npm start` runs it with no Stripe key: its own Stripe and
// Salesforce emulators, Stripe's webhooks delivered to it, the api, publisher and worker roles.
// Whatever did start is stopped again when a later part fails, and by close().
import type { Env } from '../../core/config.ts';
import { silentLogger } from '../../core/ports.ts';
import { startRtws, type Rtws } from '../../deploy/rtws.ts';
import { startSandbox, type Sandbox } from '../../deploy/sandbox.ts';
import { authHeaders, testEnvironment, type TestEnvironment } from './rtws.ts';
import { stops } from './stops.ts';

export interface SandboxRtws {
  readonly t: TestEnvironment;
  readonly sandbox: Sandbox;
  readonly rtws: Rtws;
  readonly url: string;
  /** A call to the API with the admin token; the answer's JSON (null when none). */
  api<T = Record<string, any>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

export async function startSandboxRtws(env: Env = {}): Promise<SandboxRtws> {
  const started = stops();
  const close = () => started.close();
  try {
    const t = await testEnvironment();
    started.push(() => t.cleanup());
    const sandbox = await startSandbox(t.config(env), silentLogger);
    started.push(() => sandbox.close());
    const rtws = await startRtws(sandbox.config, silentLogger);
    started.push(() => rtws.close());
    const url = rtws.url!;
    sandbox.registerWebhook(url);
    return {
      t,
      sandbox,
      rtws,
      url,
      async api(method, path, body) {
        const { 'content-type': _, ...auth } = authHeaders();
        const res = await fetch(`${url}${path}`, {
          method,
          headers: body === undefined ? auth : authHeaders(),
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const text = await res.text();
        return { status: res.status, body: text ? JSON.parse(text) : null };
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
