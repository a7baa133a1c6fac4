import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

/**
 * Debian's chromium (installed by .ci/run when missing), driven by playwright-core: headless, with a fresh profile,
 * and nothing that reaches the network on its own (updates, sync, field trials).
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface TestBrowser {
  /** One profile: pages share localStorage (the pinned keys), each page has its own sessionStorage (the API key). */
  readonly context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: apt-get install -y chromium (as .ci/run does)`);
  const profile = mkdtempSync(join(tmpdir(), 'jartrail-chromium-'));
  // The profile is given as launchPersistentContext's folder: playwright refuses --user-data-dir among the args.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Where the browser tests leave their screenshots (gitignored). */
export function artifactsDir(name: string): string {
  const folder = join(__dirname, '../../test-artifacts', name);
  mkdirSync(folder, { recursive: true });
  return folder;
}
