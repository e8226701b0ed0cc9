// Reads the links and headings out of a Markdown file, the way GitHub renders them, so a test can
// tell a link to a moved or renamed file (or section) from one that still resolves.

/** A link in a Markdown file: its target path (empty for the same file) and its anchor, if any. */
export interface MarkdownLink {
  readonly line: number;
  readonly target: string;
  readonly path: string;
  readonly anchor: string | undefined;
}

const FENCE = /^\s*(```|~~~)/;
const INLINE_LINK = /!?\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g;
const REFERENCE = /^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/;
const EXTERNAL = /^[a-z][a-z0-9+.-]*:/i;

/** The lines outside fenced code blocks: a link or heading there is an example. */
function proseLines(markdown: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let fence: string | undefined;
  markdown.split('\n').forEach((text, i) => {
    const open = FENCE.exec(text)?.[1];
    if (open !== undefined && (fence === undefined || fence === open)) {
      fence = fence === undefined ? open : undefined;
      return;
    }
    if (fence === undefined) out.push({ line: i + 1, text });
  });
  return out;
}

/** Relative links (inline and reference-style); links with a scheme (https:, mailto:) are left out. */
export function relativeLinks(markdown: string): MarkdownLink[] {
  const links: MarkdownLink[] = [];
  for (const { line, text: prose } of proseLines(markdown)) {
    const text = prose.replace(/`[^`]*`/g, '``'); // a link inside inline code is an example too
    const targets = [...text.matchAll(INLINE_LINK)].map((m) => m[1] ?? '');
    const ref = REFERENCE.exec(text)?.[1];
    if (ref !== undefined) targets.push(ref);
    for (const target of targets) {
      if (target === '' || EXTERNAL.test(target)) continue;
      const hash = target.indexOf('#');
      const path = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
      const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
      links.push({ line, target, path, anchor });
    }
  }
  return links;
}

/** GitHub's anchor for a heading: lowercased, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors a file's headings get, a repeated one numbered as GitHub does (`x`, `x-1`, …). */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const { text } of proseLines(markdown)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text)?.[1];
    if (heading === undefined) continue;
    const base = slug(heading);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}
