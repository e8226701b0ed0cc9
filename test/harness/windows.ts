// Counting events by time, for tests that hold a rate to a bound.

/** The most events in any window of `ms`, over times sorted ascending. */
export function busiest(times: readonly number[], ms: number): number {
  let most = 0;
  for (let i = 0, j = 0; j < times.length; j++) {
    while (times[j]! - times[i]! >= ms) i++;
    most = Math.max(most, j - i + 1);
  }
  return most;
}
