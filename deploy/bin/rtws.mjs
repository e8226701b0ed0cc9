#!/usr/bin/env node
/* global process */
// The `rtws` command an install puts on the PATH: runs the operator CLI (deploy/cli.ts) through
// tsx, resolved from rtws's own dependencies, so it works from any directory.
import { spawnSync } from 'node:child_process';

const cli = new URL('../cli.ts', import.meta.url).pathname;
const tsx = import.meta.resolve('tsx');
const run = spawnSync(process.execPath, ['--import', tsx, cli, ...process.argv.slice(2)], {
  stdio: 'inherit',
});
process.exit(run.status ?? 1);
