// How a backfill command shows its progress.
import { progressOf, type Backfill } from '../../adapters/postgres/backfills.ts';

/** A bar redrawn in place on a terminal; JSON lines when the output is a file or a pipe. */
export function progressPrinter() {
  const tty = process.stdout.isTTY === true;
  let drawn = false;
  return {
    note(text: string) {
      if (drawn) process.stdout.write('\n');
      drawn = false;
      console.error(text);
    },
    line(value: object) {
      if (!tty) console.log(JSON.stringify(value));
    },
    progress(b: Backfill) {
      const { ratePerS, etaS } = progressOf(b);
      if (!tty) {
        console.log(
          JSON.stringify({
            backfill: b.id,
            state: b.state,
            scanned: b.scanned,
            total_estimate: b.totalEstimate,
            rate_per_s: ratePerS,
            eta_s: etaS,
            counts: b.counts,
          }),
        );
        return;
      }
      const total = Math.max(b.totalEstimate ?? 0, b.scanned);
      const share = total > 0 ? b.scanned / total : 0;
      const width = 30;
      const filled = Math.round(share * width);
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
      const eta = etaS === null ? 'eta ?' : `eta ${etaS}s`;
      const rate = ratePerS === null ? '' : ` · ${ratePerS}/s`;
      const of = b.totalEstimate === null ? '' : `/${total}`;
      process.stdout.write(
        `\r${bar} ${Math.round(share * 100)}% ${b.scanned}${of}${rate} · ${eta} · ${b.state}   `,
      );
      drawn = true;
    },
    end() {
      if (drawn) process.stdout.write('\n');
      drawn = false;
    },
  };
}
