// Debian's chromium, driven by playwright-core through its executable path (playwright's own
// browser downloads are not used). Records whatever a page runs that it should not: dialogs
// (an injected `alert(1)`), uncaught errors and what the Content-Security-Policy refused.
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Where Debian (and a few others) put chromium; `.ci/run` installs Debian's package. */
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

export const CHROMIUM = CANDIDATES.find((path) => existsSync(path));
export const MISSING_BROWSER = `chromium (looked for ${CANDIDATES.join(', ')})`;

/** Screenshots for a person to look at: gitignored. */
export const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;

export interface Tab {
  browser: Browser;
  page: Page;
  /** Dialogs opened, errors thrown by any page script and CSP violations, in order. */
  incidents: string[];
}

export async function openTab(executablePath: string): Promise<Tab> {
  mkdirSync(ARTIFACTS, { recursive: true });
  // As root (CI containers), chromium refuses to start with its sandbox.
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const incidents: string[] = [];
    page.on('dialog', (d) => {
      incidents.push(`dialog ${d.type()}: ${d.message()}`);
      void d.dismiss();
    });
    page.on('pageerror', (err) => incidents.push(`page error: ${err.message}`));
    // A refused load (a 403 shown on purpose) is logged too; only a CSP violation is an incident.
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) incidents.push(`CSP: ${m.text()}`);
    });
    return { browser, page, incidents };
  } catch (err) {
    await browser.close();
    throw err;
  }
}
