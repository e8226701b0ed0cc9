// Addresses of the servers rtws connects to, and whether anything answers there.
import { connect } from 'node:net';

export interface Address {
  readonly host: string;
  readonly port: number;
}

export const show = (a: Address): string => `${a.host}:${a.port}`;

/** The host and port of a URL, or undefined where one cannot be told (a socket path, several hosts). */
export function addressOf(url: string, defaultPort: number): Address | undefined {
  try {
    const u = new URL(url);
    if (!u.hostname || u.hostname.includes(',')) return undefined;
    return {
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: u.port ? Number(u.port) : defaultPort,
    };
  } catch {
    return undefined;
  }
}

/** Whether a TCP connection opens there within the timeout. */
export function answers(a: Address, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: a.host, port: a.port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
