// Conflicts as a table: the field, every side's value, the winner and the reason.
import { html } from './vendor/preact-htm.js';
import { Time, Value } from './ui.js';

/** Every side's value: the recorded sides, else Postgres's and the other target's. */
function sidesOf(c) {
  if (c.sides) return Object.entries(c.sides);
  return [
    ['postgres', c.postgres_value],
    [c.target, c.target_value ?? c.stripe_value],
  ];
}

export function ConflictTable({ conflicts, showCustomer = false }) {
  if (conflicts.length === 0) return html`<p class="muted">No conflicts.</p>`;
  return html`<table class="conflicts">
    <caption class="sr-only">
      Conflicts
    </caption>
    <thead>
      <tr>
        <th scope="col">Detected</th>
        ${showCustomer ? html`<th scope="col">Customer</th>` : null}
        <th scope="col">Field</th>
        <th scope="col">Values</th>
        <th scope="col">Winner</th>
        <th scope="col">Reason</th>
      </tr>
    </thead>
    <tbody>
      ${conflicts.map(
        (c) =>
          html`<tr>
            <td><${Time} iso=${c.detected_at} /></td>
            ${
              showCustomer
                ? html`<td>
                    <a href="#/customers/${encodeURIComponent(c.customer_id)}"
                      ><code>${c.customer_id}</code></a
                    >
                  </td>`
                : null
            }
            <td>${c.field}</td>
            <td>
              <ul class="sides">
                ${sidesOf(c).map(
                  ([side, v]) =>
                    html`<li class=${side === c.winner ? 'winner' : ''}>
                      ${side}: <${Value} value=${v} />
                    </li>`,
                )}
              </ul>
            </td>
            <td><strong>${c.winner}</strong></td>
            <td>${c.reason}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}
