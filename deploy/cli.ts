// `npm run rtws -- <verb>` (or the `rtws` bin): the operator CLI. The verbs, their options and the
// exit codes are in cli/commands.ts (USAGE) and the README's "The CLI".
import { parseArgs } from 'node:util';
import { ConfigError } from '../core/errors.ts';
import { commandOf, OPTIONS, USAGE } from './cli/commands.ts';
import { ApiError, Unreachable, UsageError } from './cli/errors.ts';
import { Refused } from './cli/refused.ts';

function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) {
    console.error(`rtws: ${err.message}\n${USAGE}`);
    return 2;
  }
  if (err instanceof ConfigError) {
    console.error(`rtws: configuration error: ${err.message}`);
    return 2;
  }
  if (err instanceof Unreachable) {
    console.error(`rtws: ${err.message}`);
    return 3;
  }
  if (err instanceof Refused) {
    console.error(`rtws: refused: ${err.message}`);
    return 1;
  }
  if (err instanceof ApiError) {
    console.error(`rtws: ${err.message}`);
    return 1;
  }
  console.error(`rtws: ${err instanceof Error ? err.message : String(err)}`);
  return 1;
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: process.argv.slice(2), allowPositionals: true, options: OPTIONS });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return 0;
  }
  return commandOf(parsed.positionals, parsed.values).run(process.env);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => process.exit(exitCodeOf(err)),
);
