// One backfill's or reconciliation's report: its progress and counts, its decisions, and for a
// reconciliation the fields that differed and the differences found.
import { html } from './vendor/preact-htm.js';
import { get } from './api.js';
import { usePoll } from './poll.js';
import { Counts, Decisions } from './backfill-parts.js';
import { Freshness, Heading, Problem, Progress, Time } from './ui.js';

async function load(id) {
  const b = await get(`/backfills/${id}`);
  if (b.source !== 'reconcile') return { b };
  const [r, differences] = await Promise.all([
    get(`/reconciliations/${id}`),
    get(`/reconciliations/${id}/differences`, { limit: 100 }),
  ]);
  return { b: r, differences: differences.data };
}

function Differences({ fields, differences }) {
  return html`<h2>Differences</h2>
    <ul>
      ${Object.entries(fields).map(
        ([target, byField]) =>
          html`<li>
            ${target}:
            ${
              Object.entries(byField)
                .map(([f, n]) => `${f} ${n}`)
                .join(', ') || 'none'
            }
          </li>`,
      )}
    </ul>
    ${
      differences.length
        ? html`<table>
            <caption class="sr-only">
              Differences found
            </caption>
            <thead>
              <tr>
                <th scope="col">Target</th>
                <th scope="col">Customer</th>
                <th scope="col">Kind</th>
                <th scope="col">Fields</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              ${differences.map(
                (d) =>
                  html`<tr>
                    <td>${d.target}</td>
                    <td>
                      ${d.customer_id ? html`<a href="#/customers/${encodeURIComponent(d.customer_id)}"><code>${d.customer_id}</code></a>` : d.external_id}
                    </td>
                    <td>${d.kind}</td>
                    <td>${d.fields.join(', ')}</td>
                    <td>${d.detail}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
        : null
    }`;
}

export function BackfillReport({ id }) {
  const { data, error, at } = usePoll(() => load(id), [id]);
  const b = data?.b;
  return html`<${Heading}>${b?.source === 'reconcile' ? 'Reconciliation' : 'Backfill'} ${id}</${Heading}>
    <p><a href="#/backfills">All backfills</a></p>
    <${Freshness} at=${at} error=${error} />
    <${Problem} error=${error} />
    ${
      b
        ? html`<p>
              <span class="state state-${b.state}">${b.state}</span> · ${b.source}
              <${Time} before=" · started " iso=${b.started_at} />
              ${b.ended_at ? html`<${Time} before=", ended " iso=${b.ended_at} />` : null}
            </p>
            <${Progress} value=${b.scanned} max=${b.total_estimate} label="Progress" />
            ${b.eta_s ? html`<p>About ${b.eta_s} s to go.</p>` : null}
            ${b.last_error ? html`<p class="problem">${b.errors} errors; last: ${b.last_error}</p>` : null}
            <h2>Counts</h2>
            <${Counts} counts=${b.counts} />
            <${Decisions} decisions=${b.decisions} />
            ${data.differences ? html`<${Differences} fields=${b.differing_fields} differences=${data.differences} />` : null}`
        : null
    }`;
}
