// Rates drawn from monotonic counters: each poll's counters against the previous poll's, per
// second, kept for the last few minutes. Computed here, so the server keeps no history for it.
import { useRef } from './vendor/preact-htm.js';

const KEEP = 150; // five minutes of polls every two seconds

/**
 * Feeds the counters of each new poll (`{ name: total }`, taken `at`); returns, per counter, its
 * rates per second, oldest first. A counter that went down (a restart) starts again.
 */
export function useRates(counters, at) {
  const state = useRef({ last: undefined, series: {} });
  const s = state.current;
  if (counters && at && s.last?.at !== at) {
    if (s.last) {
      const seconds = (at - s.last.at) / 1000;
      for (const [name, total] of Object.entries(counters)) {
        const before = s.last.counters[name];
        if (typeof before !== 'number' || total < before || seconds <= 0) continue;
        const series = (s.series[name] ??= []);
        series.push((total - before) / seconds);
        if (series.length > KEEP) series.shift();
      }
    }
    s.last = { counters, at };
  }
  return s.series;
}
