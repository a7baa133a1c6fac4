import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { calculateJwkThumbprint, CompactSign, decodeJwt, exportJWK, generateKeyPair, type JWK } from 'jose';
import { canonicalJson } from '../../src/common/canonical-json';
import type { Page } from 'playwright-core';
import { buildConsole } from '../../src/console/console-build';
import { evaluateNow, issueApiKey, linkNow, startTestApp, type TestApp } from '../support/app';
import { artifactsDir, launchBrowser, type TestBrowser } from '../support/browser';
import { aConsent, aRevocation, aToken, aToolCall, hashOf, registerSenders } from '../support/events';
import { checkpointNow } from '../support/ledger';
import { aClientKey, drainVerifications, registerClient, requestClaims, signRequestObject, verificationOf } from '../support/request-objects';

/**
 * The review console in a real browser (Debian's chromium through playwright-core) against a whole jartrail: sign
 * in, search, look up, read a chain, verify its proofs in the page, refuse tampered proofs, render hostile evidence
 * as text, pass axe, and render a chain of 100 records fast. Screenshots go to test-artifacts/console/.
 */
const SHOTS = artifactsDir('console');

// The page.evaluate callbacks below run in the browser; the tests' tsconfig has no DOM types, so the few names they use.
declare const document: { querySelector(selector: string): { textContent: string | null } | null; querySelectorAll(selector: string): { length: number } };
declare const window: Record<string, unknown>;
const HOSTILE_TOOL = '<img src=x onerror="window.__xss=1">';
const HOSTILE_SUMMARY = '</script><script>window.__xss=2</script>';
const HOSTILE_AGENT = '"><svg onload="window.__xss=3">';
const seconds = () => Math.floor(Date.now() / 1000);

describe('the review console', () => {
  let app: TestApp;
  let browser: TestBrowser;
  let apiKey: string;
  let readOnlyKey: string;
  let hostile: { digest: string; callId: string; tokenJti: string };
  let large: string;
  let bundleDir: string;

  beforeAll(async () => {
    bundleDir = await buildConsole();
    // The linker runs when a test says so (linkNow, evaluateNow), so that a test can show linking behind.
    app = await startTestApp({ env: { EXPORTS_POLL_INTERVAL_MS: '100', LINKER_ENABLED: 'false' } });
    const senders = await registerSenders(app);
    const clientKey = await aClientKey('ES256');
    await registerClient(app, { client_id: 'console-app', jwks: { keys: [clientKey.jwk] }, request_object_signing_alg_values: ['ES256'] }).expect(201);

    // A chain with findings: the AS reports a scope the object does not carry (jartrail rejects it: claims_mismatch,
    // a verdict mismatch), and the agent uses the token after it expired; tool, agent and summary are hostile text.
    const claims = requestClaims('console-app', { scope: 'openid mail.read' });
    const object = await signRequestObject(clientKey, claims);
    const verification = verificationOf(object, claims, { alg: 'ES256', kid: clientKey.kid });
    (verification.data.claims as Record<string, unknown>).scope = 'openid mail.send';
    const digest = verification.data.digest as string;
    const tokenJti = `at-console-${Date.now()}`;
    const callId = `call-console-${Date.now()}`;
    await senders.as.event(verification).expect(202);
    const consent = { ...aConsent({ digest, subject: 'alice@example.com', granted: { scope: 'openid mail.send' }, rendered_digest: hashOf('the consent screen alice saw') }), id: `consent-${Date.now()}` };
    await senders.as.event(consent).expect(202);
    // The same event id again with another body: refused with 409 and kept as a conflict of this chain.
    await senders.as.event({ ...consent, data: { ...consent.data, decision: 'denied' } }).expect(409);
    await senders.tokens.event(aToken({ digest, jti: tokenJti, scope: 'openid mail.send', iat: seconds() - 7200, exp: seconds() - 3600 })).expect(202);
    await senders.agent
      .event(aToolCall({ call_id: callId, agent_id: HOSTILE_AGENT, token: { jti: tokenJti }, tool: HOSTILE_TOOL, action: 'send', side_effect: { kind: 'email', reference: `msg-${callId}`, summary: HOSTILE_SUMMARY } }))
      .expect(202);
    hostile = { digest, callId, tokenJti };

    // A chain of 100 records: a verification, a consent, a token and 97 tool calls.
    const largeClaims = requestClaims('console-app', { scope: 'openid mail.send' });
    const largeObject = await signRequestObject(clientKey, largeClaims);
    const largeVerification = verificationOf(largeObject, largeClaims, { alg: 'ES256', kid: clientKey.kid });
    large = largeVerification.data.digest as string;
    const largeJti = `at-large-${Date.now()}`;
    await senders.as.batch([largeVerification, aConsent({ digest: large, granted: { scope: 'openid mail.send' } })]).expect(200);
    await senders.tokens.event(aToken({ digest: large, jti: largeJti, scope: 'openid mail.send' })).expect(202);
    await senders.agent.batch(Array.from({ length: 97 }, (_, index) => aToolCall({ token: { jti: largeJti }, tool: 'mail', action: 'send', call_id: `large-${index}-${Date.now()}` }))).expect(200);

    await drainVerifications(app);
    await evaluateNow(app);
    await checkpointNow(app);
    apiKey = (await issueApiKey(app, ['audit:read', 'audit:export'])).key;
    readOnlyKey = (await issueApiKey(app, ['audit:read'])).key;
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  const review = () => `${app.url}/review/`;

  async function signedInPage(key = apiKey): Promise<Page> {
    const page = await browser.context.newPage();
    await page.goto(review());
    await page.locator('#api-key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForSelector('main[data-rendered="true"] table.chains, main[data-rendered="true"] .results .problem');
    return page;
  }

  /** Opens a route of the console as a new document, once it has rendered. */
  async function visit(page: Page, hash: string): Promise<void> {
    await page.goto('about:blank');
    await page.goto(`${review()}${hash}`);
    await page.waitForSelector('main[data-rendered="true"]');
  }

  async function pinKeys(page: Page): Promise<void> {
    await visit(page, '#/keys');
    await page.getByRole('button', { name: /Load and pin/ }).click();
    await page.waitForSelector('table.keys code.thumbprint');
  }

  async function openChain(page: Page, digest: string): Promise<void> {
    // A new document each time: going to the same URL with only a hash would keep the page as it was.
    await page.goto('about:blank');
    await page.goto(`${review()}#/chain/${digest}`);
    await page.waitForSelector('main[data-integrity]');
  }

  it('is served at /review with a strict Content-Security-Policy and no inline code', async () => {
    const response = await app.http().get('/review/').expect(200);
    const policy = response.headers['content-security-policy'] as string;
    expect(policy.split('; ')).toEqual(
      expect.arrayContaining(["default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "require-trusted-types-for 'script'"]),
    );
    expect(policy).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    expect(response.headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY' });
    // The page itself: nothing inline, only its own script and style sheet.
    expect(response.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=/i);
    expect((await app.http().get('/review/console.js').expect(200)).headers['content-security-policy']).toMatch(/^default-src 'self'; script-src 'self'/);
    await app.http().get('/review').expect(301).expect('location', '/review/');
    expect((await app.http().get('/review/nothing-here.js').expect(404)).headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it("keeps the page's JavaScript under 150 KB gzipped", () => {
    const script = readFileSync(join(bundleDir, 'console.js'));
    expect(gzipSync(script).length).toBeLessThan(150 * 1024);
  });

  it('refuses an unknown API key and signs in with a valid one, kept in this tab only', async () => {
    const page = await browser.context.newPage();
    await page.goto(review());
    await page.screenshot({ path: join(SHOTS, 'sign-in.png'), fullPage: true });
    await page.locator('#api-key').fill('not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/does not know this key/);
    await page.locator('#api-key').fill(apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForSelector('table.chains');
    const stored = await page.evaluate(() => ({ session: Object.values(sessionStorage), local: Object.values(localStorage) }));
    expect(stored.session).toEqual([apiKey]);
    expect(stored.local.join()).not.toContain(apiKey);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForSelector('form.api-key');
    await expect(page.evaluate(() => sessionStorage.length)).resolves.toBe(0);
    await page.close();
  });

  it('searches with the filters of the API, pages with keyset cursors, and looks up a record by any of its keys', async () => {
    const page = await signedInPage();
    await expect(page.locator('table.chains tbody tr').count()).resolves.toBe(2);
    await page.screenshot({ path: join(SHOTS, 'search.png'), fullPage: true });

    await page.getByLabel('Tool').fill(HOSTILE_TOOL);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForFunction(() => document.querySelectorAll('table.chains tbody tr').length === 1);
    await expect(page.locator('table.chains tbody tr a.digest').textContent()).resolves.toBe(hostile.digest);
    expect(new URLSearchParams(new URL(page.url()).hash.split('?')[1]).get('tool')).toBe(HOSTILE_TOOL);

    await visit(page, `#/search?verdict_mismatch=true`);
    await expect(page.locator('table.chains tbody tr a.digest').allTextContents()).resolves.toEqual([hostile.digest]);

    await visit(page, `#/search?limit=25&finding=outside_lifetime&severity=high`);
    await expect(page.locator('table.chains tbody tr a.digest').allTextContents()).resolves.toEqual([hostile.digest]);

    // One chain a page: the next page comes from next_cursor, and the last page says so.
    await visit(page, '#/search?limit=1');
    const firstPage = await page.locator('table.chains a.digest').allTextContents();
    await page.getByRole('link', { name: 'Next page →' }).click();
    await page.waitForFunction((first) => {
      const shown = document.querySelector('main[data-rendered="true"] table.chains a.digest')?.textContent;
      return shown !== undefined && shown !== first;
    }, firstPage[0]);
    const secondPage = await page.locator('table.chains a.digest').allTextContents();
    expect([...firstPage, ...secondPage].sort()).toEqual([hostile.digest, large].sort());
    await expect(page.getByText('Last page').count()).resolves.toBe(1);

    for (const value of [hostile.callId, hostile.tokenJti, `msg-${hostile.callId}`, hostile.digest]) {
      await visit(page, `#/search`);
      await page.getByLabel(/A token jti or hash/).fill(value);
      await page.getByRole('button', { name: 'Look up' }).click();
      await page.waitForURL(`**/review/#/chain/${hostile.digest}`);
    }
    await page.close();
  });

  it('shows a chain: both verdicts with every reason code in words, consent, tokens, calls, and findings with their evidence marked', async () => {
    const page = await signedInPage();
    await pinKeys(page);
    await openChain(page, hostile.digest);
    const main = page.locator('main');
    await main.locator('.entry.type-request_object-verification details').evaluate((element) => element.setAttribute('open', ''));
    // The README's picture (docs/images/chain-page.png is a copy of it): down to the two verdicts.
    await page.screenshot({ path: join(SHOTS, 'chain-page.png'), fullPage: true, clip: { x: 0, y: 0, width: 1280, height: 1750 } });
    // The reason code and the words docs/verification.md gives it.
    await expect(main.locator('.reasons li').first().textContent()).resolves.toMatch(/claims_mismatch \(rejected\): a reported claim fact differs from the object/);
    await expect(main.locator('.verdict').first().textContent()).resolves.toContain('accepted');
    await expect(main.locator('.verdict').nth(1).textContent()).resolves.toMatch(/rejected.*mismatch/);
    await expect(main.locator('table.differences').textContent()).resolves.toContain('scope');
    await expect(main.locator('.decoded').textContent()).resolves.toContain('"scope": "openid mail.read"');
    const findings = await main.locator('.findings .finding-head strong').allTextContents();
    expect(findings).toEqual(expect.arrayContaining(['verdict_mismatch', 'outside_lifetime', 'conflicting_redelivery']));
    // The conflict: the refused body beside the record it contradicts, marked as the evidence of its finding.
    await expect(main.locator('.entry.conflict.evidence').textContent()).resolves.toMatch(/Refused redelivery of consent.decision.*evidence: conflicting_redelivery/s);
    await expect(main.locator('.entry.conflict pre.json').textContent()).resolves.toContain('"decision": "denied"');
    // The evidence of each finding is marked in the timeline, and a click brings it into focus.
    await expect(main.locator('.timeline .entry.evidence').count()).resolves.toBeGreaterThanOrEqual(2);
    await main.locator('.finding.severity-high', { hasText: 'outside_lifetime' }).getByRole('button').first().click();
    await expect(main.locator('.entry.focused .entry-head .type').allTextContents()).resolves.toContain('Tool call');
    await page.screenshot({ path: join(SHOTS, 'chain-evidence-focused.png'), fullPage: true });
    await page.close();
  });

  it('verifies the checkpoint signature and every inclusion proof in the browser, against the keys the auditor pinned', async () => {
    const page = await signedInPage();
    await pinKeys(page);
    const jwks = (await app.get('/.well-known/jwks.json').expect(200)).body as { keys: JWK[] };
    await expect(page.locator('code.thumbprint').allTextContents()).resolves.toEqual(await Promise.all(jwks.keys.map((key) => calculateJwkThumbprint(key, 'sha256'))));
    await page.screenshot({ path: join(SHOTS, 'keys.png'), fullPage: true });
    await openChain(page, hostile.digest);
    await expect(page.locator('main').getAttribute('data-integrity')).resolves.toBe('verified');
    // The four records and the kept conflict.
    await expect(page.locator('.integrity-state').textContent()).resolves.toBe('Verified in this browser: 5 of 5 records');
    await expect(page.locator('.integrity-badge.verified').count()).resolves.toBe(5);
    await expect(page.locator('#integrity').textContent()).resolves.toMatch(/Checkpoint signature, with your pinned keys: valid.*Not checked/s);
    await page.close();
  });

  it('verifies leaves and proofs one by one for an auditor without audit:export, and says the payloads were not checked', async () => {
    const page = await signedInPage(readOnlyKey);
    await pinKeys(page);
    await openChain(page, hostile.digest);
    await expect(page.locator('main').getAttribute('data-integrity')).resolves.toBe('verified');
    await expect(page.locator('#integrity').textContent()).resolves.toMatch(/Payloads: without the audit:export scope/);
    await page.close();
  });

  it('refuses a proof the server altered, a payload it altered, and keys it swapped', async () => {
    const page = await signedInPage();
    await pinKeys(page);
    const tamper = async (change: (bundle: Record<string, any>) => void) => {
      await page.unroute('**/evidence');
      await page.route('**/evidence', async (route) => {
        const response = await route.fetch();
        const bundle = await response.json();
        change(bundle);
        await route.fulfill({ response, json: bundle });
      });
      await openChain(page, hostile.digest);
      await expect(page.locator('main').getAttribute('data-integrity')).resolves.toBe('failed');
      return page.locator('#integrity').textContent();
    };
    const flip = (hash: string) => (hash[0] === 'A' ? 'B' : 'A') + hash.slice(1);

    await expect(tamper((bundle) => (bundle.records[0].inclusion_proof[0] = flip(bundle.records[0].inclusion_proof[0])))).resolves.toMatch(/NOT VERIFIED.*not included in the signed tree/s);
    await page.screenshot({ path: join(SHOTS, 'chain-tampered.png'), fullPage: true });
    await expect(page.locator('.integrity-badge.failed').count()).resolves.toBe(1);

    await expect(tamper((bundle) => (bundle.records[1].payload.subject = 'mallory'))).resolves.toMatch(/the payload differs from the one committed/);
    // A checkpoint whose readable root is not the signed one.
    await expect(tamper((bundle) => (bundle.checkpoint.root_hash = flip(bundle.checkpoint.root_hash)))).resolves.toMatch(/Checkpoint signature, with your pinned keys: INVALID.*differ from what the signature covers/s);
    // A server that signs its checkpoint with a key of its choosing, and hands out that key with it: the pinned keys
    // do not know it, whatever the bundle's own JWKS says.
    const forger = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const forgedKid = 'forged-key';
    const forgedJwk = { ...(await exportJWK(forger.publicKey)), kid: forgedKid, alg: 'EdDSA' };
    const { log, tree_size: treeSize, root_hash: rootHash, issued_at: issuedAt } = decodeJwt((await app.get(`/v1/chains/${hostile.digest}/evidence`).expect(200)).body.checkpoint.jws);
    const forgedJws = await new CompactSign(new TextEncoder().encode(canonicalJson({ log, tree_size: treeSize, root_hash: rootHash, issued_at: issuedAt })))
      .setProtectedHeader({ alg: 'EdDSA', kid: forgedKid, typ: 'jartrail-checkpoint+json' })
      .sign(forger.privateKey);
    await expect(
      tamper((bundle) => {
        bundle.checkpoint = { ...bundle.checkpoint, kid: forgedKid, jws: forgedJws };
        bundle.jwks = { keys: [forgedJwk] };
      }),
    ).resolves.toMatch(/Checkpoint signature, with your pinned keys: INVALID \(the signature does not verify under the JWKS/);
    await page.close();
  });

  it('renders evidence that is HTML or script as text, and no script of it runs', async () => {
    const page = await signedInPage();
    const violations: string[] = [];
    page.on('console', (message) => violations.push(message.text()));
    await openChain(page, hostile.digest);
    for (const details of await page.locator('main details').all()) await details.evaluate((element) => element.setAttribute('open', ''));
    const text = await page.locator('main').innerText();
    expect(text).toContain(HOSTILE_TOOL);
    expect(text).toContain(HOSTILE_SUMMARY);
    expect(text).toContain(HOSTILE_AGENT);
    await expect(page.evaluate(() => ({ xss: window.__xss, injected: document.querySelectorAll('main img, main script, main svg').length }))).resolves.toEqual({
      xss: undefined,
      injected: 0,
    });
    await visit(page, `#/search?tool=${encodeURIComponent(HOSTILE_TOOL)}`);
    await expect(page.locator('table.chains').innerText()).resolves.toContain(HOSTILE_TOOL);
    await expect(page.evaluate(() => window.__xss)).resolves.toBeUndefined();
    expect(violations.filter((line) => /Content Security Policy|Trusted Type/i.test(line))).toEqual([]);
    await page.close();
  });

  it('has no serious or critical accessibility violations (axe-core)', async () => {
    const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
    const page = await browser.context.newPage();
    const audit = async (name: string) => {
      await page.evaluate(axeSource);
      const result = await page.evaluate(async () => {
        const axe = window.axe as { run: (context: unknown, options: object) => Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> };
        return axe.run(document, { resultTypes: ['violations'] });
      });
      return result.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical').map((violation) => `${name}: ${violation.id} ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);
    };
    await page.goto(review());
    await page.waitForSelector('form.api-key');
    const found = await audit('sign-in');
    await page.locator('#api-key').fill(apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForSelector('table.chains');
    found.push(...(await audit('search')));
    await pinKeys(page);
    found.push(...(await audit('keys')));
    await openChain(page, hostile.digest);
    for (const details of await page.locator('main details').all()) await details.evaluate((element) => element.setAttribute('open', ''));
    found.push(...(await audit('chain')));
    expect(found).toEqual([]);
    await page.close();
  });

  it('renders a chain of 100 records in under a second', async () => {
    const page = await signedInPage();
    await pinKeys(page);
    await openChain(page, large);
    await expect(page.locator('.timeline > li').count()).resolves.toBe(100);
    const timing = await page.evaluate(() => ({
      render: performance.getEntriesByName('chain:render')[0]!.duration,
      fromRequest: performance.getEntriesByName('chain:rendered')[0]!.startTime - performance.getEntriesByName('chain:fetch')[0]!.startTime,
    }));
    writeFileSync(join(SHOTS, 'chain-100-timing.json'), `${JSON.stringify(timing)}\n`);
    // Generous on a shared CI machine; the render itself takes some tens of milliseconds.
    expect(timing.fromRequest).toBeLessThan(1000);
    expect(timing.render).toBeLessThan(1000);
    await expect(page.locator('.integrity-state').textContent()).resolves.toBe('Verified in this browser: 100 of 100 records');
    await page.screenshot({ path: join(SHOTS, 'chain-100.png'), fullPage: false });
    await page.close();
  });

  it('says when linking is behind, with the watermark and the records waiting, and shows them once linked', async () => {
    const page = await signedInPage();
    const senders = await registerSenders(app);
    await senders.tokens.event(aRevocation({ jti: hostile.tokenJti, reason: 'incident response' })).expect(202);
    await openChain(page, hostile.digest);
    const banner = page.locator('.banner.warn');
    await expect(banner.textContent()).resolves.toMatch(/Linking is behind\. 1 record\(s\) committed but not yet linked will join this chain; everything committed below position \d+ is shown/);
    await expect(page.locator('#unlinked-title').textContent()).resolves.toBe('Committed, not yet linked (1)');
    await page.screenshot({ path: join(SHOTS, 'chain-linking-behind.png'), fullPage: true });

    await linkNow(app);
    await openChain(page, hostile.digest);
    await expect(page.locator('.banner.warn').count()).resolves.toBe(0);
    await expect(page.locator('.timeline .entry-head .type').allTextContents()).resolves.toContain('Token revoked');
    await page.close();
  });

  it('shows the access log to admins, and tells other auditors it needs audit:admin', async () => {
    const admin = await signedInPage(app.adminKey);
    await visit(admin, '#/access?outcome=refused');
    await expect(admin.locator('table.access tbody tr').count()).resolves.toBeGreaterThan(0);
    // The refused sign-in with a key nobody issued is there, as its fingerprint; no key is shown.
    await expect(admin.locator('table.access').innerText()).resolves.toMatch(/unknown_key/);
    await admin.screenshot({ path: join(SHOTS, 'access-log.png'), fullPage: true });
    await admin.close();
    const auditor = await signedInPage();
    // Not offered to an auditor without audit:admin, and refused by the service when asked for anyway.
    await expect(auditor.locator('nav.main a[data-route="access"]').isVisible()).resolves.toBe(false);
    await expect(auditor.locator('#account .who').textContent()).resolves.toMatch(/^Signed in with API key auditor-/);
    await visit(auditor, '#/access');
    await expect(auditor.getByRole('alert').innerText()).resolves.toMatch(/403.*audit:admin/s);
    await auditor.close();
  });

  it('starts an export of the search, shows its progress and downloads the file; and downloads a chain’s evidence bundle', async () => {
    const page = await signedInPage();
    await visit(page, '#/search?client_id=console-app&tool=mail');
    await page.getByRole('button', { name: 'Records (NDJSON)' }).click();
    await page.getByRole('button', { name: 'Download the file' }).waitFor({ timeout: 30_000 });
    await expect(page.locator('.export-status').textContent()).resolves.toMatch(/Ready: 100 records/);
    const [file] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download the file' }).click()]);
    const lines = readFileSync(await file.path(), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(100);
    await page.screenshot({ path: join(SHOTS, 'export.png'), fullPage: true });

    // The compliance report of the same scope, as the PDF the exports build.
    await page.getByRole('button', { name: 'Report (PDF)' }).click();
    await page.getByRole('button', { name: 'Download the file' }).waitFor({ timeout: 60_000 });
    const [pdf] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download the file' }).click()]);
    expect(pdf.suggestedFilename()).toMatch(/\.pdf$/);
    expect(readFileSync(await pdf.path()).subarray(0, 5).toString('latin1')).toBe('%PDF-');

    await openChain(page, hostile.digest);
    const [bundle] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download the evidence bundle' }).click()]);
    expect(JSON.parse(readFileSync(await bundle.path(), 'utf8'))).toMatchObject({ kind: 'evidence_bundle', chain: hostile.digest });
    await page.close();
  });
});
