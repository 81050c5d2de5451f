/**
 * Headless Chromium for tests that open the self-contained HTML reports (Debian's `chromium` package driven by
 * playwright-core; `.ci/run` installs it with apt). `describeBrowser` skips with the reason when no browser is
 * found locally, and fails under CI, where the browser must be present.
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';

const CANDIDATES = [process.env.TIEDET_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
export const CHROMIUM = CANDIDATES.find((p): p is string => !!p && existsSync(p));
const MISSING = 'no Chromium found (install Debian\'s `chromium` package or set TIEDET_CHROMIUM)';

export function describeBrowser(name: string, body: () => void): void {
  if (CHROMIUM) describe(name, body);
  else if (process.env.CI) describe(name, () => it('needs Chromium', () => { throw new Error(`${MISSING}; CI must install it`); }));
  else describe(name, () => it.skip(`skipped: ${MISSING}`, () => {}));
}

/** Launches headless Chromium with the flags this closed-network machine needs (playwright gives it a fresh temporary profile). */
export async function launchBrowser(): Promise<{ browser: Browser; close: () => Promise<void> }> {
  if (!CHROMIUM) throw new Error(MISSING);
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
    ],
  });
  return {
    browser,
    close: async () => {
      await browser.close();
    },
  };
}

export interface OpenedPage {
  page: Page;
  /** Console messages of type 'error' and uncaught page errors seen so far. */
  errors: string[];
  /** Requests to anything but file: / data: URLs (a self-contained page makes none). */
  externalRequests: string[];
}

/** Opens a local HTML file, collecting console errors, page errors and non-local requests. */
export async function openFile(browser: Browser, file: string, viewport = { width: 1366, height: 900 }): Promise<OpenedPage> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  const externalRequests: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => { const u = r.url(); if (!u.startsWith('file:') && !u.startsWith('data:') && !u.startsWith('blob:')) externalRequests.push(u); });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return { page, errors, externalRequests };
}
