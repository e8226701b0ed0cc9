// Shared setup for the emulator suites: an emulator per suite, an SDK client, a webhook receiver.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import type { Test } from 'uvu';
import { startStripeEmulator } from '../../adapters/emulators/stripe/index.ts';
import type {
  StripeEmulator,
  StripeEmulatorOptions,
} from '../../adapters/emulators/stripe/index.ts';

export const keepAlive = new http.Agent({ keepAlive: true });

export function sdk(
  emulator: StripeEmulator,
  options: Stripe.StripeConfig = {},
  key = 'sk_test_emulator',
): Stripe {
  return new Stripe(key, {
    host: '127.0.0.1',
    port: emulator.port,
    protocol: 'http',
    maxNetworkRetries: 0,
    httpClient: Stripe.createNodeHttpClient(keepAlive),
    ...options,
  });
}

export function start(options: StripeEmulatorOptions = {}): Promise<StripeEmulator> {
  return startStripeEmulator({ searchLagMs: 0, ...options });
}

export interface SuiteEmulatorOptions {
  readonly emulator?: StripeEmulatorOptions;
  readonly sdk?: Stripe.StripeConfig;
  /** Default true: each test starts from an empty emulator. */
  readonly reset?: boolean;
}

/**
 * The emulator a suite runs against, closed after it, and an SDK client on it. It starts at once,
 * not in a `before` hook, so that the suite's tests and helpers can name both directly.
 */
export async function suiteEmulator(
  test: Test,
  options: SuiteEmulatorOptions = {},
): Promise<{ emu: StripeEmulator; stripe: Stripe }> {
  const emu = await start(options.emulator);
  test.after(() => emu.close());
  if (options.reset ?? true) test.before.each(() => emu.reset());
  return { emu, stripe: sdk(emu, options.sdk) };
}

/** A decoded body as raw tests read it: an object, a list, or an error. */
export interface RawJson {
  id: string;
  name: string | null;
  livemode: boolean;
  metadata: Record<string, string>;
  preferred_locales: string[];
  data: unknown[];
  error: { type: string; message: string; param?: string; code?: string };
  [key: string]: unknown;
}

/** Raw HTTP to the emulator, for what the SDK cannot send. */
export async function raw(
  emulator: StripeEmulator,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${emulator.url}${path}`, {
    method,
    headers: {
      Authorization: 'Bearer sk_test_raw',
      'Content-Type': 'application/x-www-form-urlencoded',
      ...headers,
    },
    ...(body === undefined ? {} : { body }),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as RawJson };
}

export interface Delivery {
  body: string;
  signature: string;
  receivedAt: number;
}

/** A local webhook receiver; `status` decides what it answers (a function of the delivery count). */
export interface Receiver {
  url: string;
  deliveries: Delivery[];
  status: (n: number) => number;
  close(): Promise<void>;
}

export async function startReceiver(status: (n: number) => number = () => 200): Promise<Receiver> {
  const receiver: Receiver = { url: '', deliveries: [], status, close: async () => {} };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      receiver.deliveries.push({
        body: Buffer.concat(chunks).toString('utf8'),
        signature: String(req.headers['stripe-signature']),
        receivedAt: Date.now(),
      });
      res.writeHead(receiver.status(receiver.deliveries.length)).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  receiver.close = () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return receiver;
}

export async function errorOf<E = Stripe.errors.StripeError>(
  promise: Promise<unknown>,
): Promise<E> {
  try {
    await promise;
  } catch (error) {
    return error as E;
  }
  throw new Error('expected the call to fail');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `condition` holds; fails the test after `timeoutMs` (timing on a busy machine varies). */
export async function waitFor(
  condition: () => boolean,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
