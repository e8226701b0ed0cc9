// Throughput of the Stripe emulator as rtws sees it: the official SDK over keep-alive, 16 in flight,
// against the emulator's own process; plus how fast it delivers webhooks to a local receiver.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import Stripe from 'stripe';

export interface BenchFigure {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

const IN_FLIGHT = 16;
const PHASE_MS = 3_000;
const WARM_UP_MS = 3_000;
const WEBHOOK_EVENTS = 5_000;
const entry = new URL('../../adapters/emulators/stripe/cli.ts', import.meta.url).pathname;

export async function startEmulatorProcess(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  for await (const line of createInterface({ input: child.stdout })) {
    const match = /listening on (\S+)/.exec(line);
    if (match) return { child, url: match[1]! };
  }
  throw new Error('stripe emulator exited before listening');
}

/**
 * CPU seconds a process has used, from /proc (Linux; 100 ticks per second). On a shared machine
 * wall-clock rates depend on the neighbours; calls per CPU-second of the emulator say what one
 * core of it can do.
 */
function cpuSeconds(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

interface Rate {
  perSecond: number;
  perCpuSecond: number | undefined;
}

/** Runs `call` with IN_FLIGHT workers for PHASE_MS; returns completed calls per second. */
async function rate(
  pid: number | undefined,
  call: (i: number) => Promise<unknown>,
  phaseMs = PHASE_MS,
): Promise<Rate> {
  let done = 0;
  const cpuBefore = cpuSeconds(pid);
  const started = performance.now();
  const until = started + phaseMs;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (performance.now() < until) await call(done++);
    }),
  );
  const cpuAfter = cpuSeconds(pid);
  const cpu = cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore;
  return {
    perSecond: Math.round(done / ((performance.now() - started) / 1000)),
    perCpuSecond: cpu === undefined || cpu === 0 ? undefined : Math.round(done / cpu),
  };
}

async function startCountingReceiver(): Promise<{
  url: string;
  count: () => number;
  close: () => Promise<void>;
}> {
  let received = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    count: () => received,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function control(url: string, path: string, body: unknown = {}): Promise<unknown> {
  const res = await fetch(`${url}/_emulator/${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
  });
  return res.json();
}

export async function benchStripeEmulator(): Promise<BenchFigure[]> {
  const { child, url } = await startEmulatorProcess();
  const receiver = await startCountingReceiver();
  const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  try {
    const stripe = new Stripe('sk_test_bench', {
      host: '127.0.0.1',
      port: Number(new URL(url).port),
      protocol: 'http',
      maxNetworkRetries: 0,
      httpClient: Stripe.createNodeHttpClient(agent),
    });
    const ids: string[] = [];
    // Warm-up, so the figures measure optimised code and a grown heap rather than the JIT at work.
    await rate(
      child.pid,
      (i) => stripe.customers.create({ email: `warm${i}@example.com`, metadata: { n: String(i) } }),
      WARM_UP_MS,
    );
    const creates = await rate(child.pid, async (i) =>
      ids.push(
        (
          await stripe.customers.create({
            email: `bench${i}@example.com`,
            metadata: { n: String(i) },
          })
        ).id,
      ),
    );
    await rate(child.pid, (i) => stripe.customers.retrieve(ids[i % ids.length]!), 1_000); // warm-up
    const updates = await rate(child.pid, (i) =>
      stripe.customers.update(ids[i % ids.length]!, {
        metadata: { n: `u${i}` },
        name: `Name ${i}`,
      }),
    );
    await control(url, 'reset');
    await control(url, 'webhooks/endpoints', { url: receiver.url });
    await control(url, 'webhooks/pause');
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async (_, w) => {
        for (let i = w; i < WEBHOOK_EVENTS; i += IN_FLIGHT)
          await stripe.customers.create({ name: `hook${i}` });
      }),
    );
    const started = performance.now();
    await control(url, 'webhooks/flush', { timeoutMs: 60_000 });
    const deliveries = Math.round(receiver.count() / ((performance.now() - started) / 1000));
    const figures: BenchFigure[] = [
      {
        name: 'stripe-emulator customer create',
        value: creates.perSecond,
        unit: 'calls/s',
        note: `SDK, keep-alive, ${IN_FLIGHT} in flight, emulator in its own process`,
      },
      {
        name: 'stripe-emulator customer update',
        value: updates.perSecond,
        unit: 'calls/s',
        note: 'metadata + name change; each fires customer.updated',
      },
      {
        name: 'stripe-emulator webhook delivery',
        value: deliveries,
        unit: 'deliveries/s',
        note: `${receiver.count()} signed deliveries flushed to a local receiver`,
      },
    ];
    if (updates.perCpuSecond !== undefined) {
      figures.push({
        name: 'stripe-emulator customer update per emulator core',
        value: updates.perCpuSecond,
        unit: 'calls/cpu-s',
        note: 'updates divided by the CPU seconds the emulator process used',
      });
    }
    if (creates.perCpuSecond !== undefined) {
      figures.push({
        name: 'stripe-emulator customer create per emulator core',
        value: creates.perCpuSecond,
        unit: 'calls/cpu-s',
        note: 'creates divided by the CPU seconds the emulator process used',
      });
    }
    return figures;
  } finally {
    agent.destroy();
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await receiver.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const figure of await benchStripeEmulator()) {
    console.log(
      `${figure.name}: ${figure.value} ${figure.unit}${figure.note ? ` (${figure.note})` : ''}`,
    );
  }
}
