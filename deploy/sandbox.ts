// The sandbox: with no Stripe key, rtws starts its own Stripe and Salesforce emulators, keeps their
// state under RTWS_DATA_DIR (so a restart keeps every link valid), and points itself at them.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/ports.ts';
import { placeSandbox } from './sandbox-place.ts';
import { startStripeEmulator, type StripeEmulator } from '../adapters/emulators/stripe/index.ts';
import {
  startSalesforceEmulator,
  type SalesforceEmulator,
} from '../adapters/emulators/salesforce/index.ts';

/** Any `sk_test_` key addresses the emulator's one account. */
const SANDBOX_STRIPE_KEY = 'sk_test_rtws_sandbox';

export interface Sandbox {
  readonly stripe: StripeEmulator;
  /** Undefined when real Salesforce credentials are configured. */
  readonly salesforce: SalesforceEmulator | undefined;
  /** The configuration with the emulators filled in. */
  readonly config: Config;
  /** Registers rtws's webhook receiver with the Stripe emulator; returns the signing secret. */
  registerWebhook(apiUrl: string): string;
  close(): Promise<void>;
}

export async function startSandbox(given: Config, log: Logger): Promise<Sandbox> {
  const config = await placeSandbox(given, log);
  const stripe = await startStripeEmulator({
    port: config.sandboxPorts.stripe,
    dataDir: join(config.dataDir, 'stripe'),
  });
  const sfConfigured = config.salesforce.loginUrl !== undefined;
  const salesforce = sfConfigured
    ? undefined
    : await startSalesforceEmulator({
        port: config.sandboxPorts.salesforce,
        dataDir: join(config.dataDir, 'salesforce'),
      }).catch(async (err: unknown) => {
        await stripe.close();
        throw err;
      });
  log.info({ stripe: stripe.url, salesforce: salesforce?.loginUrl }, 'sandbox emulators started');
  // The receiver needs its secret before it starts. With a fixed port the endpoint is registered
  // now, and the emulator (which keeps its endpoints) answers with the secret it already has; with
  // a free port the URL is known only after listening, so a secret is chosen here and registered then.
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const secret =
    config.port !== 0
      ? stripe.registerWebhookEndpoint(
          `http://${host}:${config.port}/webhooks/stripe`,
          config.stripe.webhookSecrets[0],
        )
      : (config.stripe.webhookSecrets[0] ?? `whsec_${randomBytes(24).toString('base64url')}`);
  const sandboxed: Config = Object.freeze({
    ...config,
    stripe: Object.freeze({
      ...config.stripe,
      secretKey: SANDBOX_STRIPE_KEY,
      apiBase: stripe.url,
      webhookSecrets: Object.freeze([secret]),
    }),
    salesforce: salesforce
      ? Object.freeze({
          ...config.salesforce,
          loginUrl: salesforce.loginUrl,
          clientId: salesforce.clientId,
          clientSecret: salesforce.clientSecret,
        })
      : config.salesforce,
  });
  return {
    stripe,
    salesforce,
    config: sandboxed,
    registerWebhook(apiUrl) {
      return stripe.registerWebhookEndpoint(`${apiUrl}/webhooks/stripe`, secret);
    },
    async close() {
      await salesforce?.close();
      await stripe.close();
    },
  };
}
