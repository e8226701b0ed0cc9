// How a long command shows its progress: a bar redrawn in place when stdout is a terminal, JSON
// lines when it is a file or a pipe (or with --json), so a script can follow it too.

/** A backfill or reconciliation as the API shows it (`GET /backfills/:id`). */
export interface WorkView {
  id: number;
  source: string;
  state: string;
  scanned: number;
  total_estimate: number | null;
  rate_per_s: number | null;
  eta_s: number | null;
  counts: Record<string, number>;
  last_error?: string | null;
}

export function progressPrinter(json: boolean) {
  const bar = process.stdout.isTTY === true && !json;
  let drawn = false;
  return {
    /** Whether a bar is drawn (else JSON lines). */
    bar,
    note(text: string) {
      if (drawn) process.stdout.write('\n');
      drawn = false;
      console.error(text);
    },
    line(value: object) {
      if (!bar) console.log(JSON.stringify(value));
    },
    progress(b: WorkView) {
      if (!bar) {
        console.log(
          JSON.stringify({
            backfill: b.id,
            state: b.state,
            scanned: b.scanned,
            total_estimate: b.total_estimate,
            rate_per_s: b.rate_per_s,
            eta_s: b.eta_s,
            counts: b.counts,
          }),
        );
        return;
      }
      const total = Math.max(b.total_estimate ?? 0, b.scanned);
      const share = total > 0 ? b.scanned / total : 0;
      const width = 30;
      const filled = Math.round(share * width);
      const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
      const eta = b.eta_s === null ? 'eta ?' : `eta ${b.eta_s}s`;
      const rate = b.rate_per_s === null ? '' : ` · ${b.rate_per_s}/s`;
      const of = b.total_estimate === null ? '' : `/${total}`;
      process.stdout.write(
        `\r${line} ${Math.round(share * 100)}% ${b.scanned}${of}${rate} · ${eta} · ${b.state}   `,
      );
      drawn = true;
    },
    end() {
      if (drawn) process.stdout.write('\n');
      drawn = false;
    },
  };
}
