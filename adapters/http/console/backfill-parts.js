// Parts of a backfill's report, shared by the dry run's preview and the report page.
import { html } from './vendor/preact-htm.js';

export function Counts({ counts }) {
  const entries = Object.entries(counts ?? {});
  if (entries.length === 0) return html`<p class="muted">No counts yet.</p>`;
  return html`<dl class="figures">
    ${entries.map(
      ([k, v]) =>
        html`<div class="figure">
          <dt>${k}</dt>
          <dd>${v}</dd>
        </div>`,
    )}
  </dl>`;
}

export function Decisions({ decisions }) {
  if (!decisions?.length) return null;
  return html`<table>
    <caption>
      Decisions (a sample)
    </caption>
    <thead>
      <tr>
        <th scope="col">Id</th>
        <th scope="col">Decision</th>
        <th scope="col">Reason</th>
      </tr>
    </thead>
    <tbody>
      ${decisions.map(
        (d) =>
          html`<tr>
            <td><code>${d.id}</code></td>
            <td>${d.decision}</td>
            <td>${d.reason}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}
