// What a command prints: a table on a terminal, JSON with --json.

// eslint-disable-next-line no-control-regex -- exactly what it finds
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** Columns padded to their widest cell; a cell is cut at `max` characters. */
export function table(headers: readonly string[], rows: readonly (readonly unknown[])[], max = 60) {
  const cell = (v: unknown) => {
    const raw = v === null || v === undefined ? '-' : typeof v === 'string' ? v : JSON.stringify(v);
    // A name or a target's message may hold control characters: shown, never sent to the terminal.
    const s = raw.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    return s.length > max ? `${s.slice(0, max - 1)}…` : s;
  };
  const cells = [headers.map(cell), ...rows.map((r) => r.map(cell))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(cells[0]!), ...cells.slice(1).map(line)].join('\n');
}

export interface Out {
  readonly json: boolean;
  /** With --json, the value; else the text made for a person. */
  print(value: unknown, text: () => string): void;
}

export function output(json: boolean): Out {
  return {
    json,
    print(value, text) {
      console.log(json ? JSON.stringify(value, null, 2) : text());
    },
  };
}
