// Backfills and reconciliations: the list with progress (GET /backfills), starting one, with a dry
// run first if wanted (POST /backfills, POST /reconciliations), and pausing, resuming or
// cancelling one (POST /backfills/:id/pause|resume|cancel), cancelling after a confirmation.
import { html, useState } from './vendor/preact-htm.js';
import { get, post } from './api.js';
import { usePoll } from './poll.js';
import {
  Announce,
  Section,
  attempt,
  Freshness,
  Heading,
  Problem,
  Progress,
  Time,
  useConfirm,
} from './ui.js';
import { Counts, Decisions } from './backfill-parts.js';

const label = (b) => (b.source === 'reconcile' ? `Reconciliation ${b.id}` : `Backfill ${b.id}`);

function Start({ say, refresh }) {
  const [source, setSource] = useState('stripe');
  const [dryRun, setDryRun] = useState(true);
  const [adopt, setAdopt] = useState(false);
  const [preview, setPreview] = useState(undefined);
  const start = async (e) => {
    e.preventDefault();
    setPreview(undefined);
    await attempt(
      say,
      async () => {
        if (source === 'reconcile') return post('/reconciliations', {});
        const body = {
          source,
          dry_run: dryRun,
          ...(source === 'stripe' ? { adopt_orphans: adopt } : {}),
        };
        const answer = await post('/backfills', body);
        if (answer.dry_run) setPreview(answer);
      },
      dryRun && source !== 'reconcile' ? 'Dry run done: nothing was written' : 'Started',
    );
    refresh();
  };
  return html`<${Section} id="start-h" title="Start">
    <form class="start" onSubmit=${start}>
      <label
        >What
        <select value=${source} onChange=${(e) => setSource(e.currentTarget.value)}>
          <option value="stripe">Import from Stripe</option>
          <option value="postgres">Export from the catalogue</option>
          <option value="reconcile">Reconcile every target</option>
        </select>
      </label>
      ${
        source !== 'reconcile'
          ? html`<label
              ><input
                type="checkbox"
                checked=${dryRun}
                onChange=${(e) => setDryRun(e.currentTarget.checked)}
              />
              Dry run (writes nothing)</label
            >`
          : null
      }
      ${
        source === 'stripe'
          ? html`<label
              ><input
                type="checkbox"
                checked=${adopt}
                onChange=${(e) => setAdopt(e.currentTarget.checked)}
              />
              Adopt orphans</label
            >`
          : null
      }
      <button type="submit">${dryRun && source !== 'reconcile' ? 'Dry run' : 'Start'}</button>
    </form>
    ${
      preview
        ? html`<div class="preview">
            <h3>
              ${
                `Dry run of ${preview.source}: ${preview.scanned} scanned, ` +
                `${preview.ambiguities} ambiguous`
              }
            </h3>
            <${Counts} counts=${preview.counts} />
            <${Decisions} decisions=${preview.decisions} />
          </div>`
        : null
    }
  </${Section}>`;
}

export function Backfills() {
  const { data, error, at, refresh } = usePoll(() => get('/backfills', { limit: 50 }), []);
  const [outcome, say] = useState({});
  const [dialog, ask] = useConfirm();
  const move = async (b, verb) => {
    if (verb === 'cancel') {
      const ok = await ask({
        title: `Cancel ${label(b).toLowerCase()}?`,
        message: 'What it did stays done; the rest is not done. It cannot be resumed.',
        confirm: 'Cancel it',
      });
      if (!ok) return;
    }
    await attempt(say, () => post(`/backfills/${b.id}/${verb}`), `${label(b)}: ${verb} done`);
    refresh();
  };
  return html`<${Heading}>Backfills and reconciliations</${Heading}>
    <${Freshness} at=${at} error=${error} />
    <${Problem} error=${error ?? outcome.error} />
    <${Announce} message=${outcome.message} />
    <${Start} say=${say} refresh=${refresh} />
    <${Section} id="list-h" title="Runs">
      ${data?.data.length === 0 ? html`<p class="muted">None yet.</p>` : null}
      ${
        data?.data.length
          ? html`<table>
              <caption class="sr-only">
                Backfills and reconciliations, newest first
              </caption>
              <thead>
                <tr>
                  <th scope="col">Run</th>
                  <th scope="col">State</th>
                  <th scope="col">Progress</th>
                  <th scope="col" class="num">Errors</th>
                  <th scope="col">Started</th>
                  <th scope="col"><span class="sr-only">Actions</span></th>
                </tr>
              </thead>
              <tbody>
                ${data.data.map(
                  (b) =>
                    html`<tr>
                      <th scope="row">
                        <a href="#/backfills/${b.id}">${label(b)}</a> <small>${b.source}</small>
                      </th>
                      <td><span class="state state-${b.state}">${b.state}</span></td>
                      <td>
                        <${Progress}
                          value=${b.scanned}
                          max=${b.total_estimate}
                          label=${`Progress of ${label(b)}`}
                        />
                        ${b.rate_per_s ? html` <small>${b.rate_per_s.toFixed(1)}/s</small>` : null}
                      </td>
                      <td class="num">${b.errors}</td>
                      <td><${Time} iso=${b.started_at} /></td>
                      <td class="actions">
                        ${b.state === 'running' ? html`<button type="button" onClick=${() => move(b, 'pause')}>Pause</button>` : null}
                        ${b.state === 'paused' ? html`<button type="button" onClick=${() => move(b, 'resume')}>Resume</button>` : null}
                        ${
                          b.state === 'running' || b.state === 'paused'
                            ? html`<button
                                type="button"
                                class="danger"
                                onClick=${() => move(b, 'cancel')}
                              >
                                Cancel
                              </button>`
                            : null
                        }
                      </td>
                    </tr>`,
                )}
              </tbody>
            </table>`
          : null
      }
    </${Section}>
    ${dialog}`;
}
