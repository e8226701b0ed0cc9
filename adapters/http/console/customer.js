// One customer: each target's status, the links and conflicts (GET /customers/:id/sync), and its
// timeline read from the stream (GET /customers/:id/timeline), refreshed as they change.
import { html, useState } from './vendor/preact-htm.js';
import { get, post } from './api.js';
import { usePoll } from './poll.js';
import { ConflictTable } from './conflict-table.js';
import { Timeline } from './timeline.js';
import {
  Intent,
  Section,
  Announce,
  attempt,
  Freshness,
  Heading,
  Problem,
  Time,
  Value,
  useConfirm,
} from './ui.js';

const path = (id) => `/customers/${encodeURIComponent(id)}`;

function Pending({ pending, waiting }) {
  if (!pending?.length) return html`<span class="muted">none</span>`;
  return pending.map((p) => html`<div><${Intent} intent=${p} waiting=${waiting} /></div>`);
}

function TargetRows({ targets }) {
  const names = Object.keys(targets);
  if (names.length === 0)
    return html`<p class="muted">No target has handled this customer yet.</p>`;
  return html`<table>
    <caption class="sr-only">
      Targets
    </caption>
    <thead>
      <tr>
        <th scope="col">Target</th>
        <th scope="col">Status</th>
        <th scope="col">External id</th>
        <th scope="col" class="num">Desired</th>
        <th scope="col" class="num">Synced</th>
        <th scope="col">Pending intent</th>
        <th scope="col">Last error</th>
      </tr>
    </thead>
    <tbody>
      ${names.map((name) => {
        const t = targets[name];
        return html`<tr>
          <th scope="row">${name}</th>
          <td><span class="state state-${t.status}">${t.status}</span></td>
          <td><${Value} value=${t.external_id} /></td>
          <td class="num">${t.desired_version ?? '—'}</td>
          <td class="num">${t.synced_version}</td>
          <td><${Pending} pending=${t.pending} waiting=${t.waiting} /></td>
          <td>
            ${
              t.last_error
                ? html`${t.last_error.failure}: ${t.last_error.reason}
                    <${Time} before=" at " iso=${t.last_error.at} />`
                : html`<span class="muted">none</span>`
            }
          </td>
        </tr>`;
      })}
    </tbody>
  </table>`;
}

function Details({ customer }) {
  const rows = [
    ['Id', customer.id],
    ['Email', customer.email],
    ['Phone', customer.phone],
    ['Version', customer.version],
    ['Origin', customer.origin],
  ];
  return html`<dl class="details">
    ${rows.map(
      ([k, v]) =>
        html`<div>
          <dt>${k}</dt>
          <dd><${Value} value=${v} /></dd>
        </div>`,
    )}
    <div>
      <dt>Updated</dt>
      <dd><${Time} iso=${customer.updated_at} /></dd>
    </div>
  </dl>`;
}

function Links({ links }) {
  const entries = Object.entries(links);
  if (entries.length === 0) return html`<p class="muted">Not linked to any target yet.</p>`;
  return html`<ul>
    ${entries.map(([t, ext]) => html`<li>${t}: <${Value} value=${ext} /></li>`)}
  </ul>`;
}

async function load(id) {
  const [customer, sync] = await Promise.all([get(path(id)), get(`${path(id)}/sync`)]);
  return { customer, sync };
}

export function CustomerPage({ id }) {
  const { data, error, at, refresh } = usePoll(() => load(id), [id]);
  const [dialog, ask] = useConfirm();
  const [outcome, say] = useState({});
  const resync = async () => {
    const ok = await ask({
      title: 'Resync this customer?',
      message: 'It is offered to every target again; what differs is pushed.',
      confirm: 'Resync',
    });
    if (ok) await attempt(say, () => post(`${path(id)}/resync`), 'Resync requested');
    refresh();
  };
  const c = data?.customer;
  return html`<${Heading}>${c ? c.name : 'Customer'}</${Heading}>
    <${Freshness} at=${at} error=${error} />
    <${Problem} error=${error} />
    ${
      data
        ? html`<${Details} customer=${c} />
            <p><button type="button" onClick=${resync}>Resync</button></p>
            <${Problem} error=${outcome.error} />
            <${Announce} message=${outcome.message} />
            <${Section} id="c-targets" title="Targets">
              <${TargetRows} targets=${data.sync.targets} />
            </${Section}>
            <${Section} id="c-links" title="Links">
              <${Links} links=${data.sync.links} />
            </${Section}>
            <${Section} id="c-conflicts" title="Conflicts">
              <${ConflictTable} conflicts=${data.sync.conflicts} />
            </${Section}>
            <${Section} id="c-timeline" title="Timeline">
              <${Timeline} id=${id} />
            </${Section}>`
        : null
    }
    ${dialog}`;
}
