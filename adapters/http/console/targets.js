// The targets, with their bound account, state and counts, paused and resumed by an operator
// (POST /targets/:name/pause|resume). A pause holds the target's intents back; they wait.
import { html, useState } from './vendor/preact-htm.js';
import { post } from './api.js';
import { Announce, attempt, Problem, Section, Time, useConfirm } from './ui.js';

const COUNTS = ['synced', 'pending', 'retrying', 'failed', 'unlinked', 'waiting'];

/** The counts are taken every few seconds, not on every poll: when the oldest was taken. */
function CountedAt({ targets }) {
  const times = targets
    .map((t) => t.counted_at)
    .filter(Boolean)
    .sort();
  if (times.length === 0) return html`<p class="muted">Customers not counted yet.</p>`;
  return html`<p class="muted"><${Time} before="Customers counted " iso=${times[0]} /></p>`;
}

export function Targets({ targets, refresh }) {
  const [dialog, ask] = useConfirm();
  const [outcome, say] = useState({});
  const pause = async (name) => {
    const ok = await ask({
      title: `Pause ${name}?`,
      message: `Changes for ${name} will wait until it is resumed. Calls already sent finish.`,
      confirm: 'Pause',
      reason: 'Reason (recorded)',
    });
    if (ok)
      await attempt(
        say,
        () => post(`/targets/${name}/pause`, { reason: ok.reason }),
        `${name} paused`,
      );
    refresh();
  };
  const resume = async (name) => {
    const ok = await ask({
      title: `Resume ${name}?`,
      message: `The changes waiting for ${name} will be sent.`,
      confirm: 'Resume',
    });
    if (ok) await attempt(say, () => post(`/targets/${name}/resume`), `${name} resumed`);
    refresh();
  };
  return html`<${Section} id="targets-h" title="Targets">
    <table>
      <thead>
        <tr>
          <th scope="col">Target</th>
          <th scope="col">Account</th>
          <th scope="col">State</th>
          ${COUNTS.map((c) => html`<th scope="col" class="num">${c}</th>`)}
          <th scope="col"><span class="sr-only">Actions</span></th>
        </tr>
      </thead>
      <tbody>
        ${targets.map(
          (t) =>
            html`<tr>
              <th scope="row">${t.name}</th>
              <td>
                ${
                  t.account
                    ? html`<code>${t.account.id}</code
                        >${t.account.livemode ? ' (live)' : ' (test)'}`
                    : html`<span class="muted">—</span>`
                }
              </td>
              <td>
                <span class="state state-${t.state}">${t.state}</span>
                ${t.paused_at ? html` <small>by ${t.paused_by} <${Time} iso=${t.paused_at} />${t.reason ? `: ${t.reason}` : ''}</small>` : null}
              </td>
              ${COUNTS.map((c) => html`<td class="num">${t.customers?.[c] ?? '—'}</td>`)}
              <td>
                ${
                  t.state === 'paused'
                    ? html`<button type="button" onClick=${() => resume(t.name)}>
                        Resume ${t.name}
                      </button>`
                    : t.state === 'on'
                      ? html`<button type="button" onClick=${() => pause(t.name)}>
                          Pause ${t.name}
                        </button>`
                      : null
                }
              </td>
            </tr>`,
        )}
      </tbody>
    </table>
    <${CountedAt} targets=${targets} />
    <${Problem} error=${outcome.error} />
    <${Announce} message=${outcome.message} />
    ${dialog}
  </${Section}>`;
}
