// The Stripe emulator as a process: `npm run stripe-emulator -- --port 12111`.
import { parseArgs } from 'node:util';
import { InvalidOptionError, startStripeEmulator } from './index.ts';
import type { StripeEmulatorOptions } from './index.ts';

class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

function readOptions(argv: string[]): StripeEmulatorOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '12111' },
      host: { type: 'string', default: '127.0.0.1' },
      'data-dir': { type: 'string' },
      'webhook-url': { type: 'string' },
      'webhook-secret': { type: 'string' },
      'search-lag-ms': { type: 'string' },
      'account-id': { type: 'string' },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be 0..65535, got ${values.port}`);
  if (values['webhook-secret'] !== undefined && values['webhook-url'] === undefined)
    throw new UsageError('--webhook-secret needs --webhook-url');
  const options: StripeEmulatorOptions = { port, host: values.host };
  if (values['data-dir'] !== undefined) options.dataDir = values['data-dir'];
  if (values['search-lag-ms'] !== undefined) options.searchLagMs = Number(values['search-lag-ms']);
  if (values['account-id'] !== undefined) options.accountId = values['account-id'];
  if (values['webhook-url'] !== undefined) {
    options.webhooks = [
      {
        url: values['webhook-url'],
        ...(values['webhook-secret'] === undefined ? {} : { secret: values['webhook-secret'] }),
      },
    ];
  }
  return options;
}

async function main(): Promise<void> {
  const options = readOptions(process.argv.slice(2));
  const emulator = await startStripeEmulator(options);
  process.stdout.write(`stripe emulator listening on ${emulator.url}\n`);
  if (options.webhooks?.[0]) {
    // The receiver needs this secret to verify signatures; printing it is the point of the flag.
    const secret = emulator.registerWebhookEndpoint(
      options.webhooks[0].url,
      options.webhooks[0].secret,
    );
    process.stdout.write(`webhook endpoint ${options.webhooks[0].url} secret ${secret}\n`);
  }
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    emulator.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('stripe emulator: close failed', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  const usage = error instanceof UsageError || error instanceof InvalidOptionError;
  console.error(usage ? `stripe-emulator: ${error.message}` : error);
  process.exit(1);
});
