// Dead letters: list and filter them (GET /dlq?source=&subject=), read one's payload
// (GET /dlq/:id), retry one or a selection (POST /dlq/:id/retry), or discard one with a reason
// that is recorded (POST /dlq/:id/discard), after a confirmation.
import { html, useState } from './vendor/preact-htm.js';
import { get, post } from './api.js';
import { usePoll } from './poll.js';
import {
  Announce,
  attempt,
  Filters,
  Freshness,
  Heading,
  Json,
  Problem,
  Time,
  useConfirm,
} from './ui.js';

const FIELDS = [
  ['source', 'Source'],
  ['subject', 'Subject starts with'],
];

function Letter({ id, close }) {
  const { data, error } = usePoll(() => get(`/dlq/${id}`), [id], 0);
  return html`<section class="letter" aria-labelledby="letter-h">
    <h2 id="letter-h">Letter ${id}</h2>
    <${Problem} error=${error} />
    ${
      data
        ? html`<p>${data.reason}</p>
            <p class="muted">${data.subject} · ${data.stream} #${data.stream_seq}</p>
            ${
              data.correlation_id
                ? html`<p class="muted">Correlation id <code>${data.correlation_id}</code></p>`
                : null
            }
            <h3>Payload (${data.payload.encoding})</h3>
            <${Json} value=${data.payload.data} />`
        : null
    }
    <button type="button" onClick=${close}>Close</button>
  </section>`;
}

export function DeadLetters() {
  const [filters, setFilters] = useState({ source: '', subject: '' });
  const { data, error, at, refresh } = usePoll(
    () => get('/dlq', { ...filters, limit: 100 }),
    [filters.source, filters.subject],
  );
  const [selected, setSelected] = useState(new Set());
  const [open, setOpen] = useState(undefined);
  const [outcome, say] = useState({});
  const [dialog, ask] = useConfirm();
  const letters = data?.data ?? [];
  const toggle = (id) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  const retry = async (ids) => {
    if (ids.length > 1) {
      const ok = await ask({
        title: `Retry ${ids.length} letters?`,
        message: 'Each is sent again to where it came from.',
        confirm: 'Retry',
      });
      if (!ok) return;
    }
    await attempt(
      say,
      async () => {
        for (const id of ids) await post(`/dlq/${id}/retry`);
      },
      `Retried ${ids.map((id) => `letter ${id}`).join(', ')}`,
    );
    setSelected(new Set());
    if (ids.includes(open)) setOpen(undefined);
    refresh();
  };
  const discard = async (id) => {
    const ok = await ask({
      title: `Discard letter ${id}?`,
      message: 'It is removed for good; the reason is recorded with your token’s name.',
      confirm: 'Discard',
      reason: 'Reason',
    });
    if (!ok) return;
    await attempt(
      say,
      () => post(`/dlq/${id}/discard`, { reason: ok.reason }),
      `Discarded letter ${id}`,
    );
    if (open === id) setOpen(undefined);
    refresh();
  };
  return html`<${Heading}>Dead letters</${Heading}>
    <${Freshness} at=${at} error=${error} />
    <${Filters} fields=${FIELDS} values=${filters} set=${setFilters} />
    <${Problem} error=${error ?? outcome.error} />
    <${Announce} message=${outcome.message} />
    <p>
      <button type="button" disabled=${selected.size === 0} onClick=${() => retry([...selected])}>
        Retry selected (${selected.size})
      </button>
    </p>
    ${
      letters.length === 0 && data
        ? html`<p class="muted">No dead letters.</p>`
        : html`<table class="dlq">
            <caption class="sr-only">
              Dead letters
            </caption>
            <thead>
              <tr>
                <th scope="col"><span class="sr-only">Select</span></th>
                <th scope="col">Id</th>
                <th scope="col">Source</th>
                <th scope="col">Subject</th>
                <th scope="col">Reason</th>
                <th scope="col" class="num">Deliveries</th>
                <th scope="col">Dead-lettered</th>
                <th scope="col"><span class="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              ${letters.map(
                (l) =>
                  html`<tr data-letter=${l.id}>
                    <td>
                      <input
                        type="checkbox"
                        aria-label=${`Select letter ${l.id}`}
                        checked=${selected.has(l.id)}
                        onChange=${() => toggle(l.id)}
                      />
                    </td>
                    <td>${l.id}</td>
                    <td>${l.source}</td>
                    <td><code>${l.subject}</code></td>
                    <td>${l.reason}</td>
                    <td class="num">${l.deliveries}</td>
                    <td><${Time} iso=${l.dead_lettered_at} /></td>
                    <td class="actions">
                      <button type="button" onClick=${() => setOpen(l.id)}>Show ${l.id}</button>
                      <button type="button" onClick=${() => retry([l.id])}>Retry ${l.id}</button>
                      <button type="button" class="danger" onClick=${() => discard(l.id)}>
                        Discard ${l.id}
                      </button>
                    </td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
    ${data?.next_cursor ? html`<p class="muted">More letters than shown: narrow the filter.</p>` : null}
    ${open !== undefined ? html`<${Letter} id=${open} close=${() => setOpen(undefined)} />` : null}
    ${dialog}`;
}
