// The backfill benchmark's rows: the emulator-alone baselines, the walk and the import's rates,
// the Stripe calls and actor steps per customer, rtws's CPU, and the live edits' latency.
import type { Figure, Spread } from './report.ts';
import type { Messages } from './backfill-probe.ts';
import {
  LIVE_PER_SECOND,
  STRIPE_CONCURRENCY,
  STRIPE_RATE,
  WRITE_BACK,
  type BackfillStack,
} from './backfill-stack.ts';
import type { ImportRun, QuietRun } from './backfill.ts';

const TARGET_PER_SECOND = 1_000;

const ms = (x: Spread) =>
  `p50 ${x.p50.toFixed(1)} ms, p99 ${x.p99.toFixed(1)} ms, max ${x.max.toFixed(0)} ms, n=${x.n}`;
const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
const perThousand = (n: number, customers: number) => (n / customers) * 1000;

export function figures(
  s: BackfillStack,
  customers: number,
  quiet: QuietRun,
  r: ImportRun,
): Figure[] {
  const { walk, updates } = s.baseline;
  const walkRate = r.view.scanned / r.walk.seconds;
  const doneRate = customers / r.done.seconds;
  // The Stripe side's bound: a write-back per customer, or else a list call per 100.
  const ceiling = WRITE_BACK
    ? Math.min(STRIPE_RATE, updates.perSecond)
    : Math.min(STRIPE_RATE * 100, walk.perSecond);
  const writeBacks = WRITE_BACK
    ? `last write-back at ${r.done.writeBacksAt.toFixed(1)} s; at most ${r.behind.rows} inserts decided by the walk (saved a page at a time) not yet rows, and ${r.behind.writeBacks} rows without their write-back; baseline: the Stripe side's bound, the lower of RTWS_STRIPE_RATE (${STRIPE_RATE}/s) and the emulator's update rate above, one write-back per customer`
    : `at most ${r.behind.rows} inserts decided by the walk (saved a page at a time) not yet rows; no write-back asked for (rtws_id goes with each customer's first push); baseline: the Stripe side's bound, the lower of RTWS_STRIPE_RATE (${STRIPE_RATE}/s) list pages of 100 and the emulator's walk above`;
  const per = (k: keyof Messages) => (r.messages[k] - quiet.perEdit[k] * r.liveAll) / customers;
  const share = Math.min(1, (per('changes') * customers) / Math.max(1, r.messages.changes));
  const other = [...r.calls.other.entries()].map(([what, n]) => `${what} ${n}`).join(', ');
  const counts = Object.entries(r.view.counts)
    .map(([d, n]) => `${d} ${n}`)
    .join(', ');
  return [
    {
      name: 'backfill baseline: emulator alone, SDK walk, 100 a page, one page at a time',
      value: walk.perSecond,
      unit: 'customers/s',
      note: `${walk.listed.toLocaleString('en-US')} customers in ${walk.pages} pages, before rtws started`,
    },
    {
      name: `backfill baseline: emulator alone, SDK metadata updates with keys, ${STRIPE_CONCURRENCY} in flight`,
      value: updates.perSecond,
      unit: 'calls/s',
      note: `${updates.updates.toLocaleString('en-US')} updates, before rtws started: what the emulator can answer of the write-backs`,
    },
    {
      name: 'backfill: walk, customers scanned per second',
      value: walkRate,
      unit: 'customers/s',
      baseline: walk.perSecond,
      note: `${r.view.scanned.toLocaleString('en-US')} scanned in ${r.walk.seconds.toFixed(1)} s (started_at to ended_at); the backfill's own rate_per_s ${Math.round(r.view.rate_per_s ?? NaN)}; decisions: ${counts}; ${r.view.errors} page errors`,
    },
    {
      name: `backfill: import done (row in Postgres${WRITE_BACK ? ' and write-back answered' : ''})`,
      value: doneRate,
      unit: 'customers/s',
      baseline: ceiling,
      target: {
        text: `>= ${TARGET_PER_SECOND.toLocaleString('en-US')}/s`,
        met: doneRate >= TARGET_PER_SECOND,
      },
      note: `${customers.toLocaleString('en-US')} customers in ${r.done.seconds.toFixed(1)} s from the backfill's start: walk done at ${r.walk.seconds.toFixed(1)} s, last row at ${r.done.rowsAt.toFixed(1)} s, ${writeBacks}`,
    },
    {
      name: 'backfill: Stripe list pages per 1,000 customers',
      value: perThousand(r.calls.kinds['list page'], customers),
      unit: 'calls',
      note: `${r.calls.kinds['list page']} GET /v1/customers (10 per 1,000 at 100 a page; the ${r.view.scanned - customers} customers made through the API are walked too)`,
    },
    {
      name: 'backfill: Stripe write-backs of rtws_id per 1,000 customers',
      value: perThousand(r.calls.kinds['write-back'], customers),
      unit: 'calls',
      note: `${r.calls.kinds['write-back']} POST /v1/customers/:id to seeded customers (${WRITE_BACK ? 'write_back asked for' : 'none asked for: rtws_id goes with the first push'}); ${r.calls.failed} answers other than 200 among all calls; ${r.webhooks.toLocaleString('en-US')} webhooks delivered to rtws during the import (each write-back's customer.updated, and the live edits'); request-log overruns: ${r.overruns}`,
    },
    {
      name: 'backfill: other Stripe calls per 1,000 customers',
      value: perThousand(r.calls.kinds.other, customers),
      unit: 'calls',
      note: `${other || 'none'}; besides, ${r.calls.kinds['live customer']} calls about the live customers (their edits and any retrieve)`,
    },
    {
      name: 'backfill: messages on the customer subjects (actor steps) per customer imported',
      value: per('changes'),
      unit: 'messages',
      note: `and ${per('snapshots').toFixed(2)} actor snapshots written, ${per('inbound').toFixed(2)} webhooks stored in INBOUND; counted on the streams over the import, less the ${r.liveAll} live edits' at the quiet phase's rate per edit (${quiet.perEdit.changes.toFixed(2)}, ${quiet.perEdit.snapshots.toFixed(2)}, ${quiet.perEdit.inbound.toFixed(2)})`,
    },
    {
      name: 'backfill: rtws CPU per 1,000 customers imported (live edits included)',
      value: perThousand(r.rtwsCpu, customers),
      unit: 'CPU-s',
      note: `${r.rtwsCpu.toFixed(1)} CPU-s in ${r.seconds.toFixed(1)} s, which include ${r.liveSent} live edits (${Math.round(perThousand(r.liveSent, customers))} per 1,000 customers; alone, at ${LIVE_PER_SECOND}/s, they kept rtws ${quiet.rtwsCores.toFixed(2)} cores busy, ${((quiet.rtwsCores / LIVE_PER_SECOND) * 1000).toFixed(1)} ms of CPU each); the rtws process kept ${(r.rtwsCpu / r.seconds).toFixed(2)} cores busy during the import; its event-loop thread ran ${pct(r.loop.busy)} of the time and waited for a core ${pct(r.loop.waited)} of it (/proc schedstat), loop delay p50 ${r.loop.delay.p50.toFixed(0)} ms, p99 ${r.loop.delay.p99.toFixed(0)} ms, max ${r.loop.delay.max.toFixed(0)} ms; the others per 1,000: ${r.othersPer1000}; rtws RSS after ${(r.rss.rss / 2 ** 20).toFixed(0)} MiB, peak ${(r.rss.peak / 2 ** 20).toFixed(0)} MiB`,
    },
    {
      name: "backfill: rtws CPU per 1,000 customers imported, the import's share by actor steps",
      value: perThousand(r.rtwsCpu * share, customers),
      unit: 'CPU-s',
      note: `an estimate: the CPU above times the import's share of the steps on the customer subjects (${pct(share)}), the live edits' taken at the quiet phase's rate per edit`,
    },
    {
      name: `backfill: live edits at ${LIVE_PER_SECOND}/s during the import, commit -> Stripe call done p50`,
      value: r.live.commit.p50,
      unit: 'ms',
      baseline: quiet.latency.commit.p50,
    },
    {
      name: `backfill: live edits at ${LIVE_PER_SECOND}/s during the import, commit -> Stripe call done p99`,
      value: r.live.commit.p99,
      unit: 'ms',
      baseline: quiet.latency.commit.p99,
      note: `${ms(r.live.commit)}; request -> call done ${ms(r.live.request)}; ${r.liveErrors} errors; baseline: the same edits with no import running, ${ms(quiet.latency.commit)}, ${quiet.errors} errors`,
    },
  ];
}
