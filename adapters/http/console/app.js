// The console's shell: sign-in, the navigation, and hash routing to the views. The pages hold no
// data and need no token; every call to the API sends the one the operator signs in with.
import { html, render, useEffect, useRef, useState } from './vendor/preact-htm.js';
import { api, ApiError, onUnauthorized, session } from './api.js';
import { Overview } from './overview.js';
import { CustomerSearch } from './customers.js';
import { CustomerPage } from './customer.js';
import { DeadLetters } from './dlq.js';
import { Conflicts } from './conflicts.js';
import { Backfills } from './backfills.js';
import { BackfillReport } from './backfill-report.js';

const VIEWS = [
  { path: 'overview', title: 'Overview' },
  { path: 'customers', title: 'Customers' },
  { path: 'dlq', title: 'Dead letters' },
  { path: 'conflicts', title: 'Conflicts' },
  { path: 'backfills', title: 'Backfills' },
];

/** `#/customers/cus_1` → ['customers', 'cus_1']. */
function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  return parts.map((p) => decodeURIComponent(p));
}

function useRoute() {
  const [parts, setParts] = useState(route());
  useEffect(() => {
    const changed = () => setParts(route());
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return parts;
}

function SignIn({ signedIn, notice }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState(notice);
  const submit = async (e) => {
    e.preventDefault();
    session.signIn(token.trim());
    try {
      await api('GET', '/customers?limit=1');
      signedIn();
    } catch (err) {
      session.signOut();
      setError(
        err instanceof ApiError && err.status === 401
          ? 'That token was refused.'
          : String(err.message),
      );
    }
  };
  return html`<main id="main" class="signin">
    <h1>rtws console</h1>
    <form onSubmit=${submit}>
      <label for="token">API token</label>
      <input
        id="token"
        type="password"
        autocomplete="off"
        required
        value=${token}
        onInput=${(e) => setToken(e.currentTarget.value)}
      />
      <button type="submit">Sign in</button>
      ${error ? html`<p class="problem" role="alert">${error}</p>` : null}
      <p class="muted">
        The token is kept in this tab only (sessionStorage) and sent as a bearer header with each
        call.
      </p>
    </form>
  </main>`;
}

function View({ parts }) {
  const [view = 'overview', id] = parts;
  switch (view) {
    case 'customers':
      return id ? html`<${CustomerPage} id=${id} />` : html`<${CustomerSearch} />`;
    case 'dlq':
      return html`<${DeadLetters} />`;
    case 'conflicts':
      return html`<${Conflicts} />`;
    case 'backfills':
      return id ? html`<${BackfillReport} id=${id} />` : html`<${Backfills} />`;
    default:
      return html`<${Overview} />`;
  }
}

function Shell({ signOut }) {
  const parts = useRoute();
  const main = useRef(null);
  // A new view takes the focus to its heading, as a new page would.
  useEffect(() => main.current?.querySelector('h1')?.focus(), [parts.join('/')]);
  const current = parts[0] ?? 'overview';
  return html`<a
      class="skip"
      href="#main"
      onClick=${(e) => {
        e.preventDefault();
        main.current?.querySelector('h1')?.focus();
      }}
      >Skip to content</a
    >
    <header>
      <span class="brand">rtws</span>
      <nav aria-label="Console">
        <ul>
          ${VIEWS.map(
            (v) =>
              html`<li>
                <a href="#/${v.path}" aria-current=${v.path === current ? 'page' : undefined}
                  >${v.title}</a
                >
              </li>`,
          )}
        </ul>
      </nav>
      <button type="button" class="signout" onClick=${signOut}>Sign out</button>
    </header>
    <main id="main" ref=${main}><${View} parts=${parts} /></main>`;
}

function App() {
  const [signedIn, setSignedIn] = useState(session.token() !== null);
  const [notice, setNotice] = useState(undefined);
  useEffect(() => {
    onUnauthorized(() => {
      setNotice('The API refused the token: sign in again.');
      setSignedIn(false);
    });
  }, []);
  if (!signedIn) return html`<${SignIn} notice=${notice} signedIn=${() => setSignedIn(true)} />`;
  return html`<${Shell}
    signOut=${() => {
      session.signOut();
      setNotice(undefined);
      setSignedIn(false);
    }}
  />`;
}

render(html`<${App} />`, document.getElementById('root'));
