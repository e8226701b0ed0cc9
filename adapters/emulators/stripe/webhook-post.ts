import http from 'node:http';
import https from 'node:https';

export interface PostResult {
  status: number | null;
  error: string | null;
}

/** Keep-alive agents for deliveries: a fresh connection per event would cap throughput. */
export class DeliveryAgents {
  private readonly http: http.Agent;
  private readonly https: https.Agent;

  constructor(maxSockets: number) {
    this.http = new http.Agent({ keepAlive: true, maxSockets });
    this.https = new https.Agent({ keepAlive: true, maxSockets });
  }

  destroy(): void {
    this.http.destroy();
    this.https.destroy();
  }

  /** POSTs a body and reports the status, or the connection error; never rejects. */
  post(
    url: string,
    body: string,
    headers: Record<string, string>,
    timeoutMs: number,
  ): Promise<PostResult> {
    return new Promise((resolve) => {
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        resolve({ status: null, error: `invalid url ${url}` });
        return;
      }
      const secure = target.protocol === 'https:';
      const send = secure ? https.request : http.request;
      const req = send(target, {
        method: 'POST',
        agent: secure ? this.https : this.http,
        headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
        timeout: timeoutMs,
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? null, error: null }));
        res.on('error', (err) => resolve({ status: res.statusCode ?? null, error: err.message }));
      });
      req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
      req.on('error', (err) => resolve({ status: null, error: err.message }));
      req.end(body);
    });
  }
}
