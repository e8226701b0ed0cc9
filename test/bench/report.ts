// What the benchmarks share: their rows, percentiles, the table they print, the machine they ran
// on, and where the CPU went during a phase. On a noisy 2-core machine an absolute figure says
// little, so every figure is printed next to a baseline taken in the same run.
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import os from 'node:os';

/** One printed row. `baseline` makes a ratio; `target` is the ratio (or bound) it must meet. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  baseline?: number;
  target?: { text: string; met: boolean };
  note?: string;
}

export interface Timing {
  /** Time before measuring starts: connections open, JIT warm, the publisher's loop running. */
  warmupMs: number;
  measureMs: number;
  /** When set, rtws children write V8 CPU profiles here. */
  profileDir?: string;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Nearest-rank percentile of an ascending array; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export interface Spread {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export function spread(samples: readonly number[]): Spread {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? NaN,
  };
}

function fmt(n: number | undefined): string {
  if (n === undefined) return '';
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(Math.abs(n) >= 10 ? 1 : 2);
}

function ratioOf(f: Figure): string {
  if (f.baseline === undefined || f.baseline === 0) return '';
  return `${Math.round((f.value / f.baseline) * 100)}%`;
}

/** A Markdown table, so the output can go into the README as it is. */
export function table(figures: readonly Figure[]): string {
  const header = ['name', 'value', 'unit', 'baseline', 'ratio', 'target', 'met?'];
  const rows = figures.map((f) => [
    f.name,
    fmt(f.value),
    f.unit,
    fmt(f.baseline),
    ratioOf(f),
    f.target?.text ?? '',
    f.target ? (f.target.met ? 'yes' : 'NO') : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const out = [
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
  ];
  const notes = figures.filter((f) => f.note).map((f) => `- ${f.name}: ${f.note}`);
  return [...out, ...(notes.length ? ['', ...notes] : [])].join('\n');
}

export interface Versions {
  postgres: string;
  nats: string;
}

export function machine(v: Versions): string {
  const cpus = os.cpus();
  return [
    `- cores: ${cpus.length} (${cpus[0]?.model.trim() ?? 'unknown'})`,
    `- memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- Node ${process.version}, Postgres ${v.postgres}, nats-server ${v.nats}`,
    `- load average at start: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  ].join('\n');
}

// ---- CPU accounting, from /proc (Linux). ----

const TICKS_PER_SECOND = 100;

function statFields(pid: number): string[] | undefined {
  try {
    // The command name may hold spaces; the fields after it are fixed.
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a process has used; undefined once it is gone. */
function processCpu(pid: number): number | undefined {
  const fields = statFields(pid);
  return fields && (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** A process's resident set now and at its peak, in bytes, from /proc/<pid>/status. */
export function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

export function parentOf(pid: number): number | undefined {
  const fields = statFields(pid);
  return fields && Number(fields[1]);
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

export function childrenOf(ppid: number): number[] {
  return allPids().filter((pid) => parentOf(pid) === ppid);
}

function commandName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Every running process whose command name is `name`. */
export function pidsNamed(name: string): number[] {
  return allPids().filter((pid) => commandName(pid) === name);
}

/** The nats-server processes listening on `port` (its -p argument; 4222 when there is none). */
export function natsServerPids(port: number): number[] {
  return pidsNamed('nats-server').filter((pid) => {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const i = args.findIndex((a) => a === '-p' || a === '--port');
      return Number(i >= 0 ? args[i + 1] : 4222) === port;
    } catch {
      return false;
    }
  });
}

interface MachineCpu {
  /** Busy CPU seconds, all cores together. */
  busy: number;
  /** Time the hypervisor gave to other guests: a noisy neighbour, invisible to our processes. */
  steal: number;
}

function machineCpu(): MachineCpu {
  // user nice system idle iowait irq softirq steal ...
  const f = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const at = (i: number) => f[i] ?? 0;
  return {
    busy: (at(0) + at(1) + at(2) + at(5) + at(6)) / TICKS_PER_SECOND,
    steal: at(7) / TICKS_PER_SECOND,
  };
}

/** Named groups of processes, measured together. */
export type CpuGroups = Record<string, readonly number[]>;

export interface CpuSample {
  readonly at: number;
  /** Per group, each live process's CPU seconds so far. */
  readonly used: Record<string, Map<number, number>>;
  readonly machine: MachineCpu;
}

export function sampleCpu(groups: CpuGroups): CpuSample {
  const used: Record<string, Map<number, number>> = {};
  for (const [name, pids] of Object.entries(groups)) {
    used[name] = new Map();
    for (const pid of pids) {
      const cpu = processCpu(pid);
      if (cpu !== undefined) used[name].set(pid, cpu);
    }
  }
  return { at: performance.now(), used, machine: machineCpu() };
}

/** CPU seconds a group used between two samples, over the processes alive in both. */
export function groupDelta(before: CpuSample, after: CpuSample, name: string): number {
  let sum = 0;
  for (const [pid, cpu] of before.used[name] ?? []) {
    const later = after.used[name]?.get(pid);
    if (later !== undefined) sum += later - cpu;
  }
  return sum;
}

export interface CpuSplit {
  text: string;
  /** Cores the pipeline kept busy: every group except the rest of Postgres (other databases). */
  pipeline: number;
  /** Cores busy outside every group: the neighbours. */
  elsewhere: number;
}

/** Cores each group kept busy between two samples (1.00 = one core all the time). */
export function cpuSplit(before: CpuSample, after: CpuSample): CpuSplit {
  const seconds = (after.at - before.at) / 1000;
  const cores = (name: string) => groupDelta(before, after, name) / seconds;
  const names = Object.keys(before.used);
  const parts = names.map((name) => `${name} ${cores(name).toFixed(2)}`);
  const ours = names.reduce((sum, name) => sum + cores(name), 0);
  const busy = (after.machine.busy - before.machine.busy) / seconds;
  const steal = (after.machine.steal - before.machine.steal) / seconds;
  return {
    text:
      `${parts.join(', ')}, everything else ${(busy - ours).toFixed(2)}; ` +
      `machine busy ${busy.toFixed(2)} of ${os.cpus().length}, stolen ${steal.toFixed(2)}`,
    pipeline: ours - cores('pg other'),
    elsewhere: busy - ours,
  };
}

// ---- V8 CPU profiles of the rtws children. ----

/**
 * Env for an rtws child that can profile itself: each SIGUSR2 starts or stops V8's profiler, and
 * a stop writes `<label>.cpuprofile`. Node 20 refuses --cpu-prof in NODE_OPTIONS, so a generated
 * preload drives the inspector instead; toggling by signal keeps start-up and idle phases out of
 * the profile.
 */
export function profileEnv(timing: Timing, label: string): Record<string, string> {
  if (!timing.profileDir) return {};
  const out = join(timing.profileDir, `${label}.cpuprofile`);
  const preload = join(timing.profileDir, `${label}.preload.mjs`);
  writeFileSync(
    preload,
    `import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
const session = new Session();
session.connect();
session.post('Profiler.enable');
let on = false;
process.on('SIGUSR2', () => {
  if (!on) session.post('Profiler.start');
  else session.post('Profiler.stop', (err, r) => {
    if (!err) writeFileSync(${JSON.stringify(out)}, JSON.stringify(r.profile));
  });
  on = !on;
});
`,
  );
  return { NODE_OPTIONS: `--import ${pathToFileURL(preload).href}` };
}

// ---- Memory after a full collection, for figures that retained state decides. ----

/** An rtws child's memory right after a full garbage collection, by its own account. */
export interface MemoryAfterGc {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}

export interface GcProbe {
  /** Env for the child: a preload that collects garbage on SIGPWR and writes its memory. */
  readonly env: Record<string, string>;
  /** Has the child `pid` collect garbage, and reads its memory just after. */
  measure(pid: number): Promise<MemoryAfterGc>;
  close(): void;
}

/**
 * RSS and heap as sampled mid-load follow how far V8 has let garbage pile up, not what is kept.
 * The child collects garbage through the inspector (no flag needed; its session is opened on the
 * first ask) on SIGPWR, a signal nothing else here sends, and writes `process.memoryUsage()` at once. Combined with `profileEnv` by
 * joining the two NODE_OPTIONS.
 */
export function gcProbe(): GcProbe {
  const dir = mkdtempSync(join(os.tmpdir(), 'rtws-bench-gc-'));
  const out = join(dir, 'memory.json');
  const preload = join(dir, 'gc.preload.mjs');
  writeFileSync(
    preload,
    `import { Session } from 'node:inspector';
import { writeFileSync, renameSync } from 'node:fs';
let session;
process.on('SIGPWR', () => {
  if (!session) {
    session = new Session();
    session.connect();
  }
  session.post('HeapProfiler.collectGarbage', () => {
    writeFileSync(${JSON.stringify(out + '.tmp')}, JSON.stringify(process.memoryUsage()));
    renameSync(${JSON.stringify(out + '.tmp')}, ${JSON.stringify(out)});
  });
});
`,
  );
  return {
    env: { NODE_OPTIONS: `--import ${pathToFileURL(preload).href}` },
    async measure(pid) {
      rmSync(out, { force: true });
      const asked = Date.now();
      process.kill(pid, 'SIGPWR');
      while (!existsSync(out)) {
        if (Date.now() - asked > 30_000) throw new Error('rtws wrote no memory after a collection');
        await sleep(20);
      }
      return JSON.parse(readFileSync(out, 'utf8')) as MemoryAfterGc;
    },
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** One child's NODE_OPTIONS from several envs that each set some. */
export function joinNodeOptions(
  ...envs: Readonly<Record<string, string | undefined>>[]
): Record<string, string | undefined> {
  const options = envs.map((e) => e.NODE_OPTIONS).filter((o) => o !== undefined);
  return Object.assign({}, ...envs, options.length ? { NODE_OPTIONS: options.join(' ') } : {});
}

export interface PhaseProfiler {
  start(): void;
  /** Stops the profile and files it under the phase's name. */
  stop(phase: string): Promise<void>;
}

/** Drives the profile of a child started with `profileEnv(timing, label)`; a no-op without a profile folder. */
export function phaseProfiler(
  timing: Timing,
  label: string,
  pid: number | undefined,
): PhaseProfiler {
  const dir = timing.profileDir;
  if (!dir || pid === undefined) return { start() {}, stop: async () => {} };
  const pending = join(dir, `${label}.cpuprofile`);
  return {
    start: () => process.kill(pid, 'SIGUSR2'),
    async stop(phase) {
      process.kill(pid, 'SIGUSR2');
      for (let i = 0; i < 100 && !existsSync(pending); i++) await sleep(50);
      if (existsSync(pending)) renameSync(pending, join(dir, `${label} ${phase}.cpuprofile`));
    },
  };
}

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** Where a function lives: the package under node_modules, node's internals, or the project. */
function owner(url: string, functionName: string): string {
  if (functionName === '(garbage collector)') return '(gc)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node internals';
  if (url === '') return '(native)';
  return 'rtws';
}

function top(counts: Map<string, number>, total: number, n: number): string[] {
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${((v / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
}

/** Self time by package and the hottest functions, as shares of the busy (non-idle) samples. */
export function summariseProfile(file: string, n = 12): string[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[] };
  const byOwner = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    const { functionName, url, lineNumber } = node.callFrame;
    if (hits === 0) continue;
    if (functionName === '(idle)') {
      idle += hits;
      continue;
    }
    const where = url
      ? `${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(?=[a-z]+\/)/, '')}:${lineNumber + 1}`
      : '';
    const pkg = owner(url, functionName);
    byOwner.set(pkg, (byOwner.get(pkg) ?? 0) + hits);
    const key = `${functionName || '(anonymous)'} ${where}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + hits);
    busy += hits;
  }
  return [
    `idle ${((idle / Math.max(1, idle + busy)) * 100).toFixed(0)}% of samples; shares below are of the busy samples`,
    'by package:',
    ...top(byOwner, busy, 8),
    'hottest functions (self time):',
    ...top(byFunction, busy, n),
  ];
}

export function profileFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort()
    .map((f) => join(dir, f));
}

/** What closed-loop clients have done so far. */
export interface LoopCounts {
  count: number;
  errors: number;
  lastError?: unknown;
}

/**
 * `clients` closed loops, each awaiting `step(client, n)` before the next (n counts the client's
 * own steps); a failed step is counted and followed by a 10 ms pause. `stop` waits for the steps
 * in flight.
 */
export function closedLoops(
  clients: number,
  step: (client: number, n: number) => Promise<void>,
): { done: LoopCounts; stop(): Promise<void> } {
  let running = true;
  const done: LoopCounts = { count: 0, errors: 0 };
  const loops = Array.from({ length: clients }, async (_, client) => {
    for (let n = 0; running; n++) {
      try {
        await step(client, n);
        done.count++;
      } catch (err) {
        done.errors++;
        done.lastError = err;
        await sleep(10);
      }
    }
  });
  return {
    done,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}
