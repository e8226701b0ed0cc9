// Saves the emulator's state to one JSON file, debounced so that a burst of writes costs one save,
// and atomically (write a temporary file, then rename) so that a crash never leaves half a file.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const FILE_NAME = 'salesforce-emulator.json';

/** Thrown when the state file exists but cannot be read back. */
export class StateFileError extends Error {
  constructor(path: string, options?: ErrorOptions) {
    super(`cannot read the Salesforce emulator state file ${path}`, options);
    this.name = 'StateFileError';
  }
}

export class StateFile {
  readonly path: string;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    dataDir: string,
    private readonly delayMs: number,
    private readonly produce: () => unknown,
  ) {
    mkdirSync(dataDir, { recursive: true });
    this.path = join(dataDir, FILE_NAME);
  }

  /** The saved state, or undefined when there is none yet. */
  read(): unknown {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new StateFileError(this.path, { cause: err });
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new StateFileError(this.path, { cause: err });
    }
  }

  schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.writing = this.writing
        .then(() => this.write())
        .catch((err: unknown) => {
          // The next save (or the flush on close) retries with the full state.
          console.error(`salesforce emulator: saving state failed: ${(err as Error).message}`);
        });
    }, this.delayMs);
    this.timer.unref();
  }

  /** Writes now, cancelling a pending save; rejects when the write fails. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const run = this.writing.then(() => this.write());
    this.writing = run.catch(() => undefined);
    await run;
  }

  private async write(): Promise<void> {
    const temporary = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(temporary, JSON.stringify(this.produce()));
    await rename(temporary, this.path);
  }
}
