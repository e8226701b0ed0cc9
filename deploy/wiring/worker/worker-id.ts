import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** A KV-key-safe id, unique per process start: a restarted worker never mistakes old leases for its own. */
export function newWorkerId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9_-]/g, '-')
      .slice(0, 40) || 'host';
  return `${host}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export function isValidWorkerId(id: string): boolean {
  return /^[A-Za-z0-9_-]{1,100}$/.test(id);
}
