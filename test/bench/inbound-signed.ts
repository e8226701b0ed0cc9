// The webhook receiver alone: signed POST /webhooks/stripe requests generated here, with no Stripe
// emulator in the way. Each body is a real event the emulator delivered, given a fresh id and name
// and signed again, so size and parsing cost match a real delivery.
import http from 'node:http';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { sign } from '../webhooks/signing.ts';
import { sleep, type Timing } from './report.ts';

type Event = Record<string, unknown> & { data: { object: Record<string, unknown> } };

/** The last event the receiver stored: a template for generated ones. */
export async function lastStoredEvent(nc: NatsConnection, stream: string): Promise<Event> {
  const jsm = await jetstreamManager(nc);
  const { state } = await jsm.streams.info(stream);
  const stored = await jsm.streams.getMessage(stream, { seq: state.last_seq });
  if (!stored) throw new Error(`${stream} holds no event to use as a template`);
  return stored.json<Event>();
}

function post(url: URL, agent: http.Agent, body: string, secret: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'stripe-signature': sign(body, secret),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export interface SignedRun {
  /** 200s answered inside the measured window, per second. */
  rate: number;
  bytes: number;
  failures: number;
}

/** `clients` closed loops posting signed events through a warm-up and the measured window. */
export async function signedPosts(
  url: URL,
  secret: string,
  template: Event,
  clients: number,
  timing: Timing,
): Promise<SignedRun> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const from = Date.now() + timing.warmupMs;
  const to = from + timing.measureMs;
  let n = 0;
  let ok = 0;
  let failures = 0;
  const body = (i: number) =>
    JSON.stringify({
      ...template,
      id: `evt_bench_signed_${i}`,
      created: Math.floor(Date.now() / 1000),
      data: { ...template.data, object: { ...template.data.object, name: `Signed ${i}` } },
    });
  try {
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (Date.now() < to) {
          const status = await post(url, agent, body(n++), secret).catch(() => 0);
          const at = Date.now();
          if (status !== 200) {
            failures++;
            await sleep(10);
          } else if (at >= from && at < to) ok++;
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  return { rate: (ok * 1000) / timing.measureMs, bytes: Buffer.byteLength(body(0)), failures };
}
