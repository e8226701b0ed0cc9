// Auto-refresh by polling: EventSource cannot send an Authorization header, and the token must not
// go in a URL. The next poll is scheduled when the last one has ended, so slow answers never pile
// up; a hidden tab skips its polls.
import { useEffect, useState } from './vendor/preact-htm.js';

export const POLL_MS = 2000;

/**
 * `load()` now and every `everyMs` while `deps` stay the same. Returns the latest data, the latest
 * error (cleared by the next success), when it last succeeded, and `refresh()` to load at once.
 */
export function usePoll(load, deps, everyMs = POLL_MS) {
  const [state, setState] = useState({ data: undefined, error: undefined, at: undefined });
  const [nudge, setNudge] = useState(0);
  useEffect(() => {
    let stopped = false;
    let timer;
    let loaded = false;
    const run = async () => {
      if (!document.hidden || !loaded) {
        loaded = true;
        try {
          const data = await load();
          if (!stopped) setState({ data, error: undefined, at: new Date() });
        } catch (error) {
          if (!stopped) setState((s) => ({ ...s, error }));
        }
      }
      if (!stopped && everyMs > 0) timer = setTimeout(run, everyMs);
    };
    void run();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [...deps, nudge]);
  return { ...state, refresh: () => setNudge((n) => n + 1) };
}
