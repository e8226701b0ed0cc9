// Runs the Salesforce emulator on its own:
//   npm run salesforce-emulator -- --port 12112 [--host 127.0.0.1] [--client-id X] [--client-secret Y] [--data-dir DIR]
import { parseArgs } from 'node:util';
import { startSalesforceEmulator } from './index.ts';

class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

function readPort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be 0-65535, got ${text}`);
  return port;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '12112' },
      host: { type: 'string', default: '127.0.0.1' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'data-dir': { type: 'string' },
    },
    strict: true,
  });
  const emulator = await startSalesforceEmulator({
    host: values.host,
    port: readPort(values.port),
    clientId: values['client-id'],
    clientSecret: values['client-secret'],
    dataDir: values['data-dir'],
  });
  console.log(`Salesforce emulator listening
  login URL:     ${emulator.loginUrl}
  client id:     ${emulator.clientId}
  client secret: ${emulator.clientSecret}
  username:      ${emulator.username}
  password:      ${emulator.password}
  state:         ${values['data-dir'] ?? 'in memory'}`);
  const stop = (signal: string): void => {
    console.log(`${signal}: stopping`);
    emulator.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
