// A customer's history from the stream (GET /customers/:id/timeline): facts, decisions, calls and
// their outcomes, and Stripe's events, each with its time, origin and correlation id.
import { html } from './vendor/preact-htm.js';
import { get } from './api.js';
import { usePoll } from './poll.js';
import { Json, Problem, Time } from './ui.js';

export function Timeline({ id }) {
  const { data, error } = usePoll(
    () => get(`/customers/${encodeURIComponent(id)}/timeline`, { limit: 100 }),
    [id],
  );
  if (!data) return html`<${Problem} error=${error} />`;
  if (data.data.length === 0) return html`<p class="muted">Nothing recorded yet.</p>`;
  return html`<${Problem} error=${error} />
    <ol class="timeline">
      ${data.data.map(
        (e) => html`<li class="entry kind-${e.kind}">
          <div class="when"><${Time} iso=${e.at} /></div>
          <div class="what">
            <span class="kind">${e.kind}</span>
            <strong>${e.type}</strong>
            ${e.summary ? html` <span>${e.summary}</span>` : null}
          </div>
          <div class="meta muted">
            ${e.origin ? html`origin <span class="origin">${e.origin}</span>` : null}
            ${e.correlation_id ? html` · correlation <code>${e.correlation_id}</code>` : null}
          </div>
          ${e.data !== undefined
            ? html`<details><summary>Details</summary><${Json} value=${e.data} /></details>`
            : null}
        </li>`,
      )}
    </ol>`;
}
