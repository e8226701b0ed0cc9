// A customer's history from the streams (GET /customers/:id/timeline), oldest first: facts,
// decisions, calls and their outcomes, and Stripe's events, each with its time and origin; then
// the intents still waiting for their call.
import { html } from './vendor/preact-htm.js';
import { get } from './api.js';
import { usePoll } from './poll.js';
import { Intent, Problem, Time } from './ui.js';

const KINDS = {
  fact: 'fact',
  observation: 'seen',
  decision: 'decision',
  request: 'request',
  outcome: 'call',
  stripe_event: 'Stripe event',
};

function Entry({ e }) {
  return html`<li class="entry kind-${e.kind}">
    <div class="when"><${Time} iso=${e.at} /> · <span class="origin">${e.origin}</span></div>
    <div class="what">
      <span class="kind">${KINDS[e.kind] ?? e.kind}</span>
      <strong>${e.type}</strong>
      ${e.summary ? html` <span>${e.summary}</span>` : null}
    </div>
    <div class="meta muted">
      ${e.stream} #${e.seq}${e.correlation_id ? ` · correlation ${e.correlation_id}` : ''}
    </div>
  </li>`;
}

export function Timeline({ id }) {
  const { data, error } = usePoll(
    () => get(`/customers/${encodeURIComponent(id)}/timeline`, { limit: 200 }),
    [id],
  );
  if (!data) return html`<${Problem} error=${error} />`;
  return html`<${Problem} error=${error} />
    ${data.more ? html`<p class="muted">Older entries are left out.</p>` : null}
    ${
      data.stripe_events_windowed
        ? html`<p class="muted">Only recent Stripe events are read; older ones are not shown.</p>`
        : null
    }
    ${
      data.entries.length === 0
        ? html`<p class="muted">Nothing recorded yet.</p>`
        : html`<ol class="timeline">
            ${data.entries.map((e) => html`<${Entry} e=${e} />`)}
          </ol>`
    }
    ${
      data.pending.length
        ? html`<h3>Waiting for their call</h3>
            <ul>
              ${data.pending.map(
                (p) =>
                  html`<li><${Intent} intent=${p} target=${p.target} waiting=${p.waiting} /></li>`,
              )}
            </ul>`
        : null
    }`;
}
