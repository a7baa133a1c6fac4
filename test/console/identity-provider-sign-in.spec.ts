import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { buildConsole } from '../../src/console/console-build';
import { startTestApp, type TestApp } from '../support/app';
import { artifactsDir, launchBrowser, type TestBrowser } from '../support/browser';
import { startIdentityProvider, type TestIdentityProvider } from '../support/identity-provider';

/**
 * Sign-in to the review console through a real OpenID Provider (oidc-provider, test/support/identity-provider.ts):
 * the authorization code flow with PKCE in the browser, the token exchanged by the page at the provider's token
 * endpoint (allowed by the page's CSP), kept in memory only, and accepted by the API, whose access log names the
 * provider's subject.
 */
const SHOTS = artifactsDir('console');

// page.evaluate callbacks run in the browser; the tests' tsconfig has no DOM types.
interface BrowserStorage {
  readonly length: number;
  key(index: number): string | null;
  getItem(key: string): string | null;
}
declare const window: { sessionStorage: BrowserStorage };
declare const localStorage: BrowserStorage;

describe('the review console signed in with an identity provider', () => {
  let idp: TestIdentityProvider;
  let app: TestApp;
  let browser: TestBrowser;
  const violations: string[] = [];

  beforeAll(async () => {
    await buildConsole();
    idp = await startIdentityProvider();
    app = await startTestApp({ env: idp.env() });
    await idp.setConsoleRedirectUris([`${app.url}/review/`]);
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await idp?.stop();
  });

  async function newPage(): Promise<Page> {
    const page = await browser.context.newPage();
    page.on('console', (message) => {
      if (/Content Security Policy|Trusted Type/i.test(message.text())) violations.push(message.text());
    });
    return page;
  }

  it('signs in with the authorization code flow and PKCE, keeps the token in memory only, and reads with it', async () => {
    const page = await newPage();
    await page.goto(`${app.url}/review/#/search?client_id=nobody`);
    const host = new URL(idp.issuer).host;
    await page.screenshot({ path: join(SHOTS, 'sign-in-identity-provider.png'), fullPage: true });
    await page.getByRole('button', { name: `Sign in with ${host}` }).click();

    // The provider's own pages: login, then consent.
    await page.waitForURL(`${idp.issuer}/**`);
    await page.locator('input[name="login"]').fill('alice');
    await page.locator('input[name="password"]').fill('any');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();

    // Back in the console, on the route it left, with the code gone from the address bar.
    await page.waitForSelector('main[data-rendered="true"] .results section');
    expect(page.url()).toBe(`${app.url}/review/#/search?client_id=nobody`);
    await expect(page.locator('#account .who').textContent()).resolves.toBe(`Signed in as alice (${host})`);
    await expect(page.locator('.results').textContent()).resolves.toContain('No chain matches.');

    // Nothing of the token is left in storage, and the sign-in round trip's state is gone too.
    const stored = await page.evaluate(() => {
      const values: string[] = [];
      for (let index = 0; index < window.sessionStorage.length; index++) values.push(window.sessionStorage.getItem(window.sessionStorage.key(index)!)!);
      for (let index = 0; index < localStorage.length; index++) values.push(localStorage.getItem(localStorage.key(index)!)!);
      return values;
    });
    expect(stored.filter((value) => value.includes('eyJ') || value.includes('verifier'))).toEqual([]);

    // The API took the provider's token, and its access log names the provider's user.
    const records = await app.get(`/v1/access-records?subject=alice&issuer=${encodeURIComponent(idp.issuer)}`).expect(200);
    expect(records.body.items.length).toBeGreaterThan(0);
    expect(records.body.items[0]).toMatchObject({ subject: 'alice', issuer: idp.issuer, credential: 'jwt', status: 200 });

    // A reload forgets the in-memory token: the console asks to sign in again.
    await page.reload();
    await page.waitForSelector('main[data-rendered="true"] .identity-providers');
    expect(violations).toEqual([]);
    await page.close();
  });

  it('refuses an answer this tab did not ask for, and one whose state does not match', async () => {
    const page = await newPage();
    await page.goto(`${app.url}/review/?code=stolen-code&state=whatever`);
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/did not ask for/);
    expect(page.url()).toBe(`${app.url}/review/`);

    // The tab starts a sign-in, but the provider's answer never comes (its pages are blocked): an attacker's does.
    await page.route(`${idp.issuer}/**`, (route) => route.abort());
    await Promise.all([page.waitForRequest(`${idp.issuer}/**`), page.getByRole('button', { name: /Sign in with/ }).click()]);
    // Its state cannot match the one the tab keeps.
    await page.goto(`${app.url}/review/?code=stolen-code&state=forged-state`);
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/does not match the request this tab sent/);
    await page.close();
  });

  it("allows the provider's origin in the page's CSP, and nothing else", async () => {
    const response = await app.http().get('/review/').expect(200);
    const connect = (response.headers['content-security-policy'] as string).split('; ').find((directive) => directive.startsWith('connect-src'));
    expect(connect).toBe(`connect-src 'self' ${idp.issuer}`);
  });
});
