// The rtws HTTP API as the Salesforce sync suites drive it; every call checks its status.
import type { Address } from '../../core/customer.ts';
import type { TargetView } from '../../adapters/http/routes/sync.ts';
import { authHeaders } from '../harness/rtws.ts';

export interface CustomerBody {
  name: string;
  email: string | null;
  phone: string | null;
  address: Address | null;
  metadata: Record<string, string>;
}

export interface SyncState {
  deleted: boolean;
  targets?: Record<string, TargetView>;
}

export class UnexpectedStatus extends Error {
  readonly code = 'UNEXPECTED_STATUS';
  constructor(what: string, status: number, body: string) {
    super(`${what}: ${status} ${body.slice(0, 300)}`);
    this.name = 'UnexpectedStatus';
  }
}

export class SyncApi {
  constructor(
    private readonly base: string,
    private readonly token: string,
  ) {}

  async create(body: CustomerBody): Promise<string> {
    const res = await this.call('POST', '/customers', body, 201);
    return (res as { id: string }).id;
  }

  async patch(id: string, body: Partial<CustomerBody>): Promise<void> {
    await this.call('PATCH', `/customers/${id}`, body, 200);
  }

  async remove(id: string): Promise<void> {
    await this.call('DELETE', `/customers/${id}`, undefined, 204);
  }

  async sync(id: string): Promise<SyncState> {
    return (await this.call('GET', `/customers/${id}/sync`, undefined, 200)) as SyncState;
  }

  private async call(method: string, path: string, body: unknown, expect: number) {
    const { 'content-type': contentType, ...auth } = authHeaders(this.token);
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: body === undefined ? auth : { ...auth, 'content-type': contentType! },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (res.status !== expect) throw new UnexpectedStatus(`${method} ${path}`, res.status, text);
    return text ? (JSON.parse(text) as unknown) : undefined;
  }
}
