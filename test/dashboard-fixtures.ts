/**
 * Headless Chromium for the dashboard tests: Debian's `chromium` driven by playwright-core
 * (npx playwright install cannot download browsers here), with the flags that keep it from
 * reaching the network. Screenshots go to test/out/ (git-ignored).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

// Globals of the browser, used inside page.evaluate callbacks: the project compiles without the DOM
// lib (adding it would loosen type checking for all Node code), so they are declared for this file only.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const document: any, window: any, getComputedStyle: any;

export const OUT_DIR = fileURLToPath(new URL('./out/', import.meta.url));

export function chromiumPath(): string {
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('chromium not found: install the Debian package (apt-get install -y chromium)');
  }
}

export async function launch(): Promise<Browser> {
  mkdirSync(OUT_DIR, { recursive: true });
  return chromium.launch({
    executablePath: chromiumPath(),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

export interface WatchedPage {
  page: Page;
  /** Console errors, page errors and CSP reports seen so far. */
  problems: string[];
  dialogs: string[];
}

/** A page that records console errors, uncaught errors and dialogs (a dialog would mean injected script ran). */
export async function watchedPage(browser: Browser, width = 1440, height = 1800): Promise<WatchedPage> {
  const page = await browser.newPage({ viewport: { width, height } });
  const problems: string[] = [];
  const dialogs: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('dialog', (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  return { page, problems, dialogs };
}

/** Waits until the dashboard finished a refresh after `since` (body[data-loaded] is the refresh time). */
export async function loaded(page: Page, since = 0, timeoutMs = 30_000): Promise<void> {
  await page.waitForFunction((t) => Number(document.body.getAttribute('data-loaded') ?? 0) > t, since, { timeout: timeoutMs });
}
