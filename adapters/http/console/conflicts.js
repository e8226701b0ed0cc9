// Conflicts: what rtws decided when both sides changed a field (GET /conflicts?field=&customer_id=).
import { html, useState } from './vendor/preact-htm.js';
import { get } from './api.js';
import { usePoll } from './poll.js';
import { ConflictTable } from './conflict-table.js';
import { Filters, Freshness, Heading, Problem } from './ui.js';

const FIELDS = [
  ['field', 'Field'],
  ['customer_id', 'Customer id'],
];

export function Conflicts() {
  const [filters, setFilters] = useState({ field: '', customer_id: '' });
  const { data, error, at } = usePoll(
    () => get('/conflicts', { ...filters, limit: 100 }),
    [filters.field, filters.customer_id],
  );
  return html`<${Heading}>Conflicts</${Heading}>
    <${Freshness} at=${at} error=${error} />
    <${Filters} fields=${FIELDS} values=${filters} set=${setFilters} />
    <${Problem} error=${error} />
    ${data ? html`<${ConflictTable} conflicts=${data.data} showCustomer=${true} />` : null}
    ${data?.next_cursor ? html`<p class="muted">Newest 100 shown: narrow the filter.</p>` : null}`;
}
