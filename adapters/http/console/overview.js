// The overview: is it in sync, and what is stuck. GET /status for the targets' counts, the outbox,
// the streams' lag, the DLQ and conflicts, the counters behind the rates and the work in progress;
// GET /targets for who paused what.
import { html } from './vendor/preact-htm.js';
import { get } from './api.js';
import { usePoll } from './poll.js';
import { useRates } from './rates.js';
import { Targets } from './targets.js';
import { Freshness, Heading, Problem, Progress, Section, Sparkline } from './ui.js';

async function load() {
  const [status, targets] = await Promise.all([get('/status'), get('/targets')]);
  const paused = new Map(targets.data.map((t) => [t.name, t]));
  return {
    ...status,
    targets: status.targets.map((t) => ({ ...paused.get(t.name), ...t })),
  };
}

function Figure({ label, value, href }) {
  const shown = value ?? '—';
  return html`<div class="figure">
    <dt>${label}</dt>
    <dd>${href ? html`<a href=${href}>${shown}</a>` : shown}</dd>
  </div>`;
}

function Rates({ series }) {
  const names = Object.keys(series).sort();
  if (names.length === 0) return html`<p class="muted">Rates appear after two refreshes.</p>`;
  return html`<ul class="rates">
    ${names.map((name) => {
      const values = series[name];
      const now = values.at(-1) ?? 0;
      return html`<li>
        <span class="rate-name">${name.replaceAll('_', ' ')}</span>
        <${Sparkline}
          values=${values}
          label=${`${name.replaceAll('_', ' ')}: ${now.toFixed(1)} per second now`}
        />
        <span class="num">${now.toFixed(1)}/s</span>
      </li>`;
    })}
  </ul>`;
}

function Work({ items }) {
  if (!items?.length) return html`<p class="muted">No backfill or reconciliation is running.</p>`;
  return html`<ul class="work">
    ${items.map(
      (b) =>
        html`<li>
          <a href="#/backfills/${b.id}"
            >${b.kind === 'reconciliation' ? 'Reconciliation' : `Backfill from ${b.source}`}
            ${b.id}</a
          >
          <span class="state state-${b.state}">${b.state}</span>
          <${Progress} value=${b.done} max=${b.total} label=${`Progress of ${b.kind} ${b.id}`} />
          ${b.eta_s !== null ? html`<small>about ${b.eta_s} s to go</small>` : null}
        </li>`,
    )}
  </ul>`;
}

export function Overview() {
  const { data, error, at, refresh } = usePoll(load, []);
  const series = useRates(data?.counters, data ? Date.parse(data.at) : undefined);
  return html`<${Heading}>Overview</${Heading}>
    <${Freshness} at=${at} error=${error} />
    <${Problem} error=${error} />
    ${
      data
        ? html`<${Targets} targets=${data.targets} refresh=${refresh} />
            <${Section} id="queues-h" title="Queues">
              <dl class="figures">
                <${Figure} label="Outbox depth" value=${data.outbox.depth} />
                <${Figure} label="Oldest in outbox (s)" value=${data.outbox.oldest_age_s} />
                <${Figure} label="Dead letters" value=${data.dlq.depth} href="#/dlq" />
                <${Figure} label="Conflicts" value=${data.conflicts.total} href="#/conflicts" />
                ${data.streams.map(
                  (s) =>
                    html`<${Figure} label=${`${s.stream} consumer lag`} value=${s.consumer_lag} />`,
                )}
              </dl>
            </${Section}>
            <${Section} id="rates-h" title="Rates over the last minutes">
              <${Rates} series=${series} />
            </${Section}>
            <${Section} id="work-h" title="In progress">
              <${Work} items=${data.work} />
            </${Section}>`
        : null
    }`;
}
