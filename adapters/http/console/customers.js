// Finding a customer: by id, email or name (GET /customers?q=).
import { html, useState } from './vendor/preact-htm.js';
import { get } from './api.js';
import { Heading, Problem, Time } from './ui.js';

export function CustomerSearch() {
  const [q, setQ] = useState('');
  const [found, setFound] = useState(undefined);
  const [error, setError] = useState(undefined);
  const search = async (e) => {
    e.preventDefault();
    setError(undefined);
    try {
      setFound((await get('/customers', { q: q.trim(), limit: 50 })).data);
    } catch (err) {
      setError(err);
    }
  };
  return html`<${Heading}>Customers</${Heading}>
    <form class="search" role="search" onSubmit=${search}>
      <label for="customer-q">Id, email or name</label>
      <input id="customer-q" type="search" required value=${q}
        onInput=${(e) => setQ(e.currentTarget.value)} />
      <button type="submit">Search</button>
    </form>
    <${Problem} error=${error} />
    ${
      found === undefined
        ? null
        : found.length === 0
          ? html`<p role="status">No customer matches.</p>`
          : html`<table>
              <caption class="sr-only">
                Customers found
              </caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Email</th>
                  <th scope="col">Id</th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                ${found.map(
                  (c) =>
                    html`<tr>
                      <td>
                        <a href="#/customers/${encodeURIComponent(c.id)}"
                          >${c.name ?? '(no name)'}</a
                        >
                      </td>
                      <td>${c.email ?? ''}</td>
                      <td><code>${c.id}</code></td>
                      <td><${Time} iso=${c.updated_at} /></td>
                    </tr>`,
                )}
              </tbody>
            </table>`
    }`;
}
