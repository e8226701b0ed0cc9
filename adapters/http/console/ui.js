// Small pieces every view uses. Everything is rendered as text through htm (Preact escapes it):
// names and values come from Stripe and Salesforce, and none of them is ever parsed as HTML.
import { html, useEffect, useRef, useState } from './vendor/preact-htm.js';

/** What went wrong, said plainly; a missing scope is named. */
export function Problem({ error }) {
  if (!error) return null;
  const text =
    error.status === 403 && error.scope
      ? `Your token lacks the ${error.scope} scope, which this needs.`
      : error.status === 404
        ? `Not found: ${error.message}`
        : error.message || String(error);
  return html`<p class="problem" role="alert">${text}</p>`;
}

/**
 * An ISO time as the operator's local time, with the exact value for machines. `before` is text
 * put in front of it (" from "), kept whole whatever line breaks the template has.
 */
export function Time({ iso, before = '' }) {
  if (!iso) return html`${before}<span class="muted">—</span>`;
  const d = new Date(iso);
  return html`${before}<time datetime=${iso} title=${iso}>${d.toLocaleString()}</time>`;
}

/** A value from a target, shown as text: strings as they are, the rest as JSON. */
export function Value({ value }) {
  if (value === null || value === undefined) return html`<span class="muted">—</span>`;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return html`<code class="value">${text}</code>`;
}

export function Json({ value }) {
  return html`<pre class="json">${JSON.stringify(value, null, 2)}</pre>`;
}

/** A native progress bar with its label; indeterminate when the total is not known. */
export function Progress({ value, max, label }) {
  const known = typeof max === 'number' && max > 0;
  const text = known ? `${value} of ${max}` : `${value}`;
  return html`<span class="progress">
    ${
      known
        ? html`<progress max=${max} value=${Math.min(value, max)} aria-label=${label}></progress>`
        : html`<progress aria-label=${label}></progress>`
    }
    <span>${text}</span>
  </span>`;
}

/** A small line chart of the last values, newest on the right. */
export function Sparkline({ values, label, width = 120, height = 28 }) {
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const points = values
    .map((v, i) => `${(i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`)
    .join(' ');
  return html`<svg
    class="spark"
    role="img"
    aria-label=${label}
    width=${width}
    height=${height}
    viewBox="0 0 ${width} ${height}"
  >
    <title>${label}</title>
    ${values.length > 1 ? html`<polyline points=${points} />` : null}
  </svg>`;
}

/**
 * A confirmation before a destructive action, as a modal dialog. `ask({ title, message, confirm,
 * reason })` resolves to `{ reason }` when confirmed (with the text typed when `reason` is asked
 * for) and to null when cancelled.
 */
export function useConfirm() {
  const [pending, setPending] = useState(null);
  const ask = (options) => new Promise((resolve) => setPending({ ...options, resolve }));
  const close = (answer) => {
    pending?.resolve(answer);
    setPending(null);
  };
  const dialog = pending ? html`<${ConfirmDialog} ...${pending} close=${close} />` : null;
  return [dialog, ask];
}

function ConfirmDialog({ title, message, confirm = 'Confirm', reason, close }) {
  const ref = useRef(null);
  const [text, setText] = useState('');
  useEffect(() => {
    const d = ref.current;
    d.showModal();
    const cancel = (e) => {
      e.preventDefault();
      close(null);
    };
    d.addEventListener('cancel', cancel);
    return () => d.removeEventListener('cancel', cancel);
  }, []);
  const submit = (e) => {
    e.preventDefault();
    if (reason && !text.trim()) return;
    close({ reason: text.trim() });
  };
  return html`<dialog ref=${ref} aria-labelledby="confirm-title" class="confirm">
    <form onSubmit=${submit}>
      <h2 id="confirm-title">${title}</h2>
      <p>${message}</p>
      ${
        reason
          ? html`<label>
              ${reason}
              <textarea
                required
                maxlength="500"
                value=${text}
                onInput=${(e) => setText(e.currentTarget.value)}
              ></textarea>
            </label>`
          : null
      }
      <div class="actions">
        <button type="submit" class="danger">${confirm}</button>
        <button type="button" onClick=${() => close(null)}>Cancel</button>
      </div>
    </form>
  </dialog>`;
}

/** When the data on screen was loaded. */
export function Freshness({ at, error }) {
  return html`<p class="freshness muted">
    ${at ? `Updated ${at.toLocaleTimeString()}` : 'Loading…'}
    ${error && at ? ' (the last refresh failed)' : ''}
  </p>`;
}

/** A view's heading; focusable, so that a new view can take the focus to it. */
export function Heading({ children }) {
  return html`<h1 tabindex="-1">${children}</h1>`;
}

/** The outcome of the last action, read out by screen readers when it changes. */
export function Announce({ message }) {
  return html`<p class="announce" role="status" aria-live="polite">${message ?? ''}</p>`;
}

/** Runs an action, and reports its outcome or its error through `say`. */
export async function attempt(say, action, done) {
  try {
    await action();
    say({ message: done, error: undefined });
  } catch (error) {
    say({ message: undefined, error });
  }
}

/** Search fields that filter a list when changed: `fields` is `[[name, label], …]`. */
export function Filters({ fields, values, set }) {
  return html`<form class="filters" onSubmit=${(e) => e.preventDefault()}>
    ${fields.map(
      ([name, label]) =>
        html`<label>
          ${label}
          <input
            type="search"
            value=${values[name]}
            onChange=${(e) => set({ ...values, [name]: e.currentTarget.value.trim() })}
          />
        </label>`,
    )}
  </form>`;
}

/** An intent waiting for its call: what, which attempt, from when, and why it waits. */
export function Intent({ intent: p, target, waiting }) {
  const attempt = p.attempt > 0 ? ` (attempt ${p.attempt + 1})` : '';
  return html`${target ? `${target}: ` : ''}${p.type}${attempt}
    <${Time} before=" from " iso=${p.not_before} />
    ${p.correlation_id ? html` <span class="muted">for <code>${p.correlation_id}</code></span>` : null}
    ${waiting ? html`<span class="waiting">${` waiting: ${waiting}`}</span>` : null}`;
}

/** A part of a view under its own heading, which names it for assistive technology. */
export function Section({ id, title, children }) {
  return html`<section aria-labelledby=${id}>
    <h2 id=${id}>${title}</h2>
    ${children}
  </section>`;
}
