// The Stripe side of the backfill benchmark, before rtws starts: an account already in use (N
// customers made through the official SDK), and what the emulator alone does with the calls an
// import makes: the walk of list pages, one at a time, and metadata updates with as many in flight
// as rtws is allowed.
import type http from 'node:http';
import Stripe from 'stripe';
import { sleep } from './report.ts';

export const SEED_IN_FLIGHT = 16;

/** The official SDK over keep-alive, no retries: every call is one request. */
export function sdkClient(emulatorUrl: string, key: string, agent: http.Agent): Stripe {
  const base = new URL(emulatorUrl);
  return new Stripe(key, {
    host: base.hostname,
    port: Number(base.port),
    protocol: 'http',
    maxNetworkRetries: 0,
    telemetry: false,
    httpClient: Stripe.createNodeHttpClient(agent),
  });
}

/**
 * Creates `n` customers, each with an email of its own (so that none matches a catalogue
 * customer) and no `rtws_id`; returns their ids and the creates per second.
 */
export async function seedCustomers(stripe: Stripe, n: number) {
  const ids: string[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: SEED_IN_FLIGHT }, async () => {
      while (next < n) {
        const i = next++;
        const c = await stripe.customers.create({
          name: `Imported ${i}`,
          email: `imported.${i}@example.com`,
          metadata: { seeded: 'yes' },
        });
        ids.push(c.id);
      }
    }),
  );
  return { ids, perSecond: (n * 1000) / (performance.now() - started) };
}

/** Every customer, 100 a page, one page at a time, as the import walks them. */
export async function walkRate(stripe: Stripe) {
  let listed = 0;
  let pages = 0;
  let cursor: string | undefined;
  const started = performance.now();
  for (;;) {
    const page = await stripe.customers.list({
      limit: 100,
      ...(cursor ? { starting_after: cursor } : {}),
    });
    pages++;
    listed += page.data.length;
    cursor = page.data.at(-1)?.id;
    if (!page.has_more || !cursor) break;
  }
  const seconds = (performance.now() - started) / 1000;
  return { listed, pages, perSecond: listed / seconds };
}

/**
 * Metadata updates of the seeded customers under idempotency keys, as a write-back is, with
 * `inFlight` at once for `ms` (or until every customer had one); returns the updates per second.
 */
export async function updateRate(
  stripe: Stripe,
  ids: readonly string[],
  inFlight: number,
  ms: number,
) {
  let next = 0;
  let done = 0;
  const started = performance.now();
  const until = started + ms;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < ids.length && performance.now() < until) {
        const i = next++;
        await stripe.customers.update(
          ids[i]!,
          { metadata: { seeded: 'probed' } },
          { idempotencyKey: `bench-probe-${i}` },
        );
        done++;
      }
    }),
  );
  return { updates: done, perSecond: (done * 1000) / (performance.now() - started) };
}

/**
 * Catch-up lists events from the second rtws starts in (with RTWS_CATCHUP_MARGIN_S=0): waiting
 * past a second boundary keeps the seeded customers' events out of it, so only the import brings
 * them in.
 */
export const pastCatchUpWindow = () => sleep(1_100);
