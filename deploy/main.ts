// The entry point: the only reader of process.env outside the tests.
import { pino } from 'pino';
import { loadConfig, type Config } from '../core/config.ts';
import { AccountMismatchError, ConfigError } from '../core/errors.ts';
import { startRtws } from './rtws.ts';
import { banner } from './banner.ts';
import { startSandbox, type Sandbox } from './sandbox.ts';

let config: Config;
try {
  config = loadConfig(process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`rtws: configuration error: ${err.message}`);
    process.exit(2);
  }
  throw err;
}

const log = pino({ level: config.logLevel, base: { service: 'rtws' } });

async function start() {
  let sandbox: Sandbox | undefined;
  try {
    sandbox = config.sandbox ? await startSandbox(config, log) : undefined;
    const rtws = await startRtws(sandbox?.config ?? config, log);
    if (sandbox && rtws.url) sandbox.registerWebhook(rtws.url);
    return { rtws, sandbox };
  } catch (err) {
    await sandbox?.close();
    throw err;
  }
}

const { rtws, sandbox } = await start().catch((err: unknown) => {
  if (err instanceof AccountMismatchError) {
    // A refusal, not a crash: the same code as a configuration error.
    log.fatal({ code: err.code }, err.message);
    console.error(`rtws: ${err.message}`);
    process.exit(2);
  }
  log.fatal({ err }, 'rtws failed to start');
  process.exit(1);
});
process.stdout.write(banner(config, rtws, sandbox));

let closing = false;
async function shutdown(signal: string) {
  if (closing) return;
  closing = true;
  log.info({ signal }, 'shutting down: finishing in-flight work');
  const force = setTimeout(() => {
    log.error({}, 'shutdown took too long; exiting');
    process.exit(1);
  }, 30_000);
  force.unref();
  try {
    await rtws.close();
    await sandbox?.close();
    process.exit(0);
  } catch (err) {
    log.error({ err }, 'shutdown failed');
    process.exit(1);
  }
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
