// Runs the test files of the named tiers, each in its own process, so that a file that crashes,
// hangs or leaks handles cannot take the others with it. Prints one closing line:
// "N passed, N failed".
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const TIERS = new Set(['unit', 'int', 'e2e']);
const root = new URL('..', import.meta.url).pathname;
const fileTimeoutMs = Number(process.env.RTWS_TEST_FILE_TIMEOUT_MS ?? 300_000);
// Two files at a time in each tier, one per core here. An e2e file spends much of its time waiting
// on the processes it starts (their start, a lease to lapse), so two of them share the cores well;
// three int files at a time left the cores no idle time and made load-sensitive checks fail.
const parallelism: Record<string, number> = { unit: 2, int: 2, e2e: 2 };

interface FileResult {
  file: string;
  passed: number;
  failed: number;
  skipped: number;
  ok: boolean;
  seconds: number;
  /** For a failed file: what its failures said, printed again at the end of the run. */
  why?: string;
}

function findTests(dir: string, tier: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) findTests(path, tier, out);
    else if (name.endsWith(`.${tier}.test.ts`)) out.push(path);
  }
  return out.sort();
}

function runFile(file: string): Promise<FileResult> {
  return new Promise((resolve) => {
    const startedAt = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const timer = setTimeout(() => {
      output += `\n[run] ${relative(root, file)} exceeded ${fileTimeoutMs} ms; killed\n`;
      killGroup(child.pid);
    }, fileTimeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      killGroup(child.pid); // whatever the file left running goes with it
      const count = (label: string) =>
        Number(new RegExp(`${label}:\\s+(\\d+)`).exec(output)?.[1] ?? 0);
      const total = count('Total');
      const passed = count('Passed');
      const skipped = count('Skipped');
      // uvu swallows an error thrown by a before/after hook and still exits 0; a test that did not
      // pass and was not skipped is a failure all the same. uvu's total leaves the skipped out, so a
      // file whose tests are all skipped (naming what they lack) has none and is not a failure.
      const ok = code === 0 && total + skipped > 0 && passed === total;
      const failed = ok ? 0 : Math.max(1, total - passed);
      const seconds = (Date.now() - startedAt) / 1000;
      process.stdout.write(
        `\n── ${relative(root, file)} (${ok ? 'ok' : `FAILED, exit ${code}`}, ${seconds.toFixed(1)} s)\n`,
      );
      if (!ok || process.env.RTWS_TEST_VERBOSE) process.stdout.write(output);
      resolve({
        file,
        passed,
        failed,
        skipped,
        ok,
        seconds,
        ...(ok ? {} : { why: failures(output) }),
      });
    });
  });
}

/**
 * Each uvu failure with the lines that say why, up to its stack; a file that ended without one
 * (a crash, a hook, the timeout) gives its last lines. A long run's log is often read from its end.
 */
function failures(output: string): string {
  const lines = output.split('\n');
  const out: string[] = [];
  lines.forEach((line, i) => {
    if (!/^\s*FAIL\s/.test(line)) return;
    const end = lines.findIndex((l, j) => j > i && /^\s+at /.test(l));
    out.push(...lines.slice(i, end < 0 ? i + 12 : Math.min(end, i + 12)));
  });
  const text = out.length > 0 ? out.join('\n') : output.slice(-1_500);
  return text.length > 4_000 ? `${text.slice(0, 4_000)} …` : text;
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

async function runTier(tier: string): Promise<FileResult[]> {
  const files = findTests(join(root, 'test'), tier);
  const results: FileResult[] = [];
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const file = files[next++]!;
      results.push(await runFile(file));
    }
  };
  await Promise.all(Array.from({ length: parallelism[tier] ?? 1 }, worker));
  return results;
}

const tiers = process.argv.slice(2);
for (const tier of tiers) {
  if (!TIERS.has(tier)) {
    console.error(`unknown test tier "${tier}"; expected one of ${[...TIERS].join(', ')}`);
    process.exit(2);
  }
}
const started = Date.now();
const all: FileResult[] = [];
for (const tier of tiers) all.push(...(await runTier(tier)));
const passed = all.reduce((n, r) => n + r.passed, 0);
const failed = all.reduce((n, r) => n + r.failed, 0);
const skipped = all.reduce((n, r) => n + r.skipped, 0);
console.log(
  `\n${all.length} files in ${((Date.now() - started) / 1000).toFixed(1)} s; the slowest:`,
);
for (const r of [...all].sort((a, b) => b.seconds - a.seconds).slice(0, 8))
  console.log(`  ${r.seconds.toFixed(1).padStart(6)} s  ${relative(root, r.file)}`);
for (const r of all.filter((r) => !r.ok)) {
  console.log(`failed: ${relative(root, r.file)}`);
  if (r.why) console.log(`${r.why.replace(/^/gm, '  | ')}`);
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || all.length === 0 ? 1 : 0);
