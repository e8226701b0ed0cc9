// The entry point: the only reader of process.env outside the tests.
import { pino } from 'pino';
import { loadConfig, type Config } from '../core/config.ts';
import {
  AccountMismatchError,
  ConfigError,
  RebindUnfinishedError,
  PrivateServerError,
  ServerUnreachableError,
} from '../core/errors.ts';
import { startRtws } from './rtws.ts';
import { banner } from './banner.ts';
import { startSandbox, type Sandbox } from './sandbox.ts';
import { startPrivateServers, type PrivateServers } from './private/private-servers.ts';
import { loggableErr } from '../adapters/postgres/loggable-error.ts';

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

const log = pino({
  level: config.logLevel,
  base: { service: 'rtws' },
  serializers: { err: loggableErr },
});

async function start() {
  let servers: PrivateServers | undefined;
  let sandbox: Sandbox | undefined;
  try {
    servers = await startPrivateServers(config, log, process.env);
    sandbox = config.sandbox ? await startSandbox(servers.config, log) : undefined;
    const rtws = await startRtws(sandbox?.config ?? servers.config, log);
    if (sandbox && rtws.url) sandbox.registerWebhook(rtws.url);
    return { rtws, sandbox, servers };
  } catch (err) {
    await sandbox?.close();
    await servers?.close();
    throw err;
  }
}

const { rtws, sandbox, servers } = await start().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    // Found past the environment: the field map's file, or what Salesforce says of the object.
    log.fatal({ code: err.code, variable: err.variable }, err.message);
    console.error(`rtws: configuration error: ${err.message}`);
    process.exit(2);
  }
  if (err instanceof AccountMismatchError || err instanceof RebindUnfinishedError) {
    // A refusal, not a crash: the same code as a configuration error.
    log.fatal({ code: err.code }, err.message);
    console.error(`rtws: ${err.message}`);
    process.exit(2);
  }
  if (err instanceof PrivateServerError || err instanceof ServerUnreachableError) {
    // What the machine lacks, said plainly: the message is the whole story.
    log.fatal({ code: err.code }, err.message);
    console.error(`rtws: ${err.message}`);
    process.exit(1);
  }
  log.fatal({ err }, 'rtws failed to start');
  process.exit(1);
});
process.stdout.write(banner(sandbox?.config ?? servers.config, rtws, sandbox, servers.started));

let closing = false;
async function shutdown(signal: string) {
  if (closing) return;
  closing = true;
  log.info({ signal }, 'shutting down: finishing in-flight work');
  const force = setTimeout(() => {
    // The part still closing is what held it: the worker's calls in flight, the publisher's batch…
    log.error({ part: rtws.closing() ?? 'after rtws' }, 'shutdown took too long; exiting');
    process.exit(1);
  }, 30_000);
  force.unref();
  try {
    await rtws.close();
    await sandbox?.close();
    // Last: rtws has closed its connections to them.
    await servers.close();
    process.exit(0);
  } catch (err) {
    log.error({ err }, 'shutdown failed');
    process.exit(1);
  }
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
