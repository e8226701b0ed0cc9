// `erase <id> --confirm <id>`: asks a running rtws to erase a customer's personal data (scope admin)
// and follows the erasure until it is done, then prints what was removed where. The id is typed
// twice, as for a rebind: an erasure cannot be undone.
import type { CliApi } from './api-client.ts';
import { table, type Out } from './output.ts';

interface ErasureView {
  id: string;
  status: string;
  remote: boolean;
  removed: Record<string, Record<string, unknown>>;
  note: string | null;
  last_error: string | null;
}

const POLL_MS = 500;
/** How long the command follows an erasure; it goes on in rtws after that. */
const FOLLOW_MS = 120_000;

export async function erase(api: CliApi, out: Out, customerId: string): Promise<number> {
  let e = await api.post<ErasureView>(`/customers/${customerId}/erase`);
  const until = Date.now() + FOLLOW_MS;
  while (e.status !== 'erased' && Date.now() < until) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    e = await api.get<ErasureView>(`/erasures/${e.id}`);
  }
  out.print(e, () => describe(customerId, e));
  return e.status === 'erased' ? 0 : 1;
}

function describe(customerId: string, e: ErasureView): string {
  if (e.status !== 'erased')
    return `customer ${customerId}: erasure ${e.id} still running in rtws${
      e.last_error ? ` (last error: ${e.last_error})` : ''
    }; GET /erasures/${e.id} follows it`;
  const rows = Object.entries(e.removed).flatMap(([store, what]) =>
    Object.entries(what).map(([part, n]) => [store, part, n]),
  );
  return [
    `customer ${customerId} erased (erasure ${e.id})`,
    ...(e.note ? [e.note] : []),
    table(['store', 'part', 'removed'], rows),
  ].join('\n');
}
