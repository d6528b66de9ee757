import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import {
  addMember,
  BOOTSTRAP_ACTOR,
  bootstrapOrganization,
  costPico,
  createPersonalToken,
  createPriceBook,
  createRedis,
  createSpanQueue,
  createUser,
  markPending,
  newId,
  setWorkspaceMember,
  updatePlan,
  type BootstrapResult,
  type SpanBatch,
} from '@canopy/core';
import { createTestEnv, freePort, startNodeProcess, waitFor, waitForHttp, type NodeProcess, type TestEnv } from '@canopy/core/testing';
import { formatBytes, formatUsd } from '../src/time/format';
import { CHROMIUM_ARGS, ensureChromium } from './helpers/chromium';
import { serveConsole, type ConsoleServer } from './helpers/console-server';

// The console in a real browser against a real stack: an OTel SDK program → collector →
// workers → ClickHouse ← query API ← the built console (console/dist) in Debian's headless
// Chromium, driven by playwright-core. Screenshots of each page land in
// test-artifacts/console/ (gitignored) for a person to look at.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST = path.join(ROOT, 'console/dist');
const ARTIFACTS = path.join(ROOT, 'test-artifacts/console');
const CHECKOUT_FIXTURE = path.join(ROOT, 'deploy/test/fixtures/otel-service.mjs');
const GENAI_FIXTURE = fileURLToPath(new URL('./fixtures/otel-genai-and-large.mjs', import.meta.url));
const LARGE_TRACE_SPANS = 5_000;

const browser = ensureChromium();
if (!browser.ok) process.stderr.write(`console e2e skipped: ${browser.reason}\n`);

interface CheckoutRun {
  traceId: string;
  rootSpanId: string;
  childSpanId: string;
  grandchildSpanId: string;
  linkedTraceId: string;
}
interface GenAiRun {
  genaiTraceId: string;
  genaiSpanId: string;
  largeTraceId: string;
  largeSpanCount: number;
}

let env: TestEnv;
let boot: BootstrapResult;
let viewerToken: string;
let apiUrl: string;
let collectorUrl: string;
let consoleUrl: string;
let server: ConsoleServer | undefined;
let context: BrowserContext;
let profileDir: string;
let checkout: CheckoutRun;
let genai: GenAiRun;
const processes: NodeProcess[] = [];
const SERVICE = `checkout-console-${Date.now().toString(36)}`;

const dev = (): BootstrapResult['workspaces'][number] => boot.workspaces.find((w) => w.slug === 'dev')!;

async function api<T>(token: string, pathAndQuery: string): Promise<T> {
  const res = await fetch(`${apiUrl}/api/v1${pathAndQuery}`, { headers: { Authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`${pathAndQuery}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function runFixture<T>(script: string, extraEnv: Record<string, string>, collectorPort: number): Promise<T> {
  const run = startNodeProcess(script, {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collectorPort}`,
    OTEL_EXPORTER_OTLP_HEADERS: `Authorization=Bearer%20${dev().ingestKey}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    ...extraEnv,
  });
  const code = await run.exited;
  expect(code, run.output()).toBe(0);
  return JSON.parse(run.output().trim().split('\n').pop()!) as T;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

async function signIn(token: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (err) => process.stderr.write(`console page error: ${err.message}\n`));
  await page.goto(`${consoleUrl}/`);
  await page.locator('input[name="token"]').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('whoami').waitFor();
  return page;
}

const hashOf = (page: Page): string => new URL(page.url()).hash;

describe.skipIf(!browser.ok)('the web console in headless Chromium', () => {
  beforeAll(async () => {
    if (!fs.existsSync(path.join(DIST, 'index.html'))) throw new Error('console/dist is missing: `npm run build` (turbo) builds it, or `npm run build -w console`');
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    env = await createTestEnv();
    boot = await bootstrapOrganization(env.pool, { name: `console-${Date.now().toString(36)}`, workspaceSlugs: ['dev', 'prod'] });
    await updatePlan(env.pool, BOOTSTRAP_ACTOR, { orgId: boot.org.id, monthlySpanQuota: 50_000 });
    // A plain member who only views dev.
    const viewer = await createUser(env.pool, { email: `viewer-${Date.now().toString(36)}@console.test`, name: 'Vera Viewer' });
    await addMember(env.pool, BOOTSTRAP_ACTOR, { orgId: boot.org.id, userId: viewer.id, role: 'member' });
    await setWorkspaceMember(env.pool, BOOTSTRAP_ACTOR, { orgId: boot.org.id, workspaceId: dev().id, userId: viewer.id, role: 'viewer' });
    viewerToken = (await createPersonalToken(env.pool, BOOTSTRAP_ACTOR, { userId: viewer.id, name: 'e2e' })).token;

    const [collectorPort, apiPort] = [await freePort(), await freePort()];
    const serviceEnv = {
      ...env.env,
      CANOPY_COLLECTOR_PORT: String(collectorPort),
      CANOPY_COLLECTOR_HOST: '127.0.0.1',
      CANOPY_API_PORT: String(apiPort),
      CANOPY_API_HOST: '127.0.0.1',
      CANOPY_BATCH_MAX_WAIT_MS: '50',
      // The ingest ledger: reconcile every 2 s, a minute 2 s after it ends; no shared metrics port.
      CANOPY_LEDGER_RECONCILE_INTERVAL_MS: '2000',
      CANOPY_LEDGER_SETTLE_MS: '2000',
      CANOPY_WORKER_METRICS_PORT: '0',
    };
    processes.push(
      startNodeProcess(`${ROOT}collector/dist/main.js`, serviceEnv),
      startNodeProcess(`${ROOT}workers/dist/main.js`, serviceEnv),
      startNodeProcess(`${ROOT}query-api/dist/main.js`, serviceEnv),
    );
    apiUrl = `http://127.0.0.1:${apiPort}`;
    collectorUrl = `http://127.0.0.1:${collectorPort}`;
    await waitForHttp(`http://127.0.0.1:${collectorPort}/readyz`, 30_000);
    await waitForHttp(`${apiUrl}/readyz`, 30_000);

    // Until the query API serves the console at `/` itself, serve console/dist here with /api proxied.
    const served = await fetch(`${apiUrl}/`).then(async (r) => (r.ok ? await r.text() : ''), () => '');
    if (served.includes('<div id="root">')) consoleUrl = apiUrl;
    else {
      server = await serveConsole({ distDir: DIST, apiUrl });
      consoleUrl = server.url;
    }

    checkout = await runFixture<CheckoutRun>(CHECKOUT_FIXTURE, { EXPORTER: 'json', OTEL_SERVICE_NAME: SERVICE }, collectorPort);
    genai = await runFixture<GenAiRun>(
      GENAI_FIXTURE,
      { SPAN_COUNT: String(LARGE_TRACE_SPANS), OTEL_BSP_MAX_QUEUE_SIZE: '20000', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '1000', OTEL_BSP_SCHEDULE_DELAY: '100' },
      collectorPort,
    );
    expect(genai.largeSpanCount).toBe(LARGE_TRACE_SPANS);
    // Wait until the API answers with everything the browser will look for.
    const ws = encodeURIComponent(dev().id);
    await waitFor(async () => (await api<{ spans: unknown[] }>(boot.ownerToken, `/workspaces/${ws}/traces/${checkout.traceId}`).catch(() => ({ spans: [] }))).spans.length >= 3, { timeoutMs: 60_000, what: 'the checkout trace' });
    await waitFor(async () => (await api<{ spans: unknown[] }>(boot.ownerToken, `/workspaces/${ws}/traces/${genai.genaiTraceId}`).catch(() => ({ spans: [] }))).spans.length >= 3, { timeoutMs: 60_000, what: 'the GenAI trace' });
    await waitFor(
      async () => (await api<{ spans: unknown[] }>(boot.ownerToken, `/workspaces/${ws}/traces/${genai.largeTraceId}`).catch(() => ({ spans: [] }))).spans.length >= LARGE_TRACE_SPANS,
      { timeoutMs: 90_000, what: `${LARGE_TRACE_SPANS} spans of the large trace` },
    );
    await waitFor(async () => (await api<{ totals: { spans: number } }>(boot.billingToken, `/orgs/${boot.org.id}/usage`)).totals.spans >= LARGE_TRACE_SPANS, { timeoutMs: 60_000, what: 'usage' });

    profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'canopy-console-chromium-'));
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: browser.ok ? browser.executablePath : '',
      headless: true,
      args: CHROMIUM_ARGS,
      acceptDownloads: true,
      viewport: { width: 1440, height: 900 },
    });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: consoleUrl });
  }, 600_000);

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    if (profileDir) fs.rmSync(profileDir, { recursive: true, force: true });
    await server?.close();
    await Promise.all(processes.map((p) => p.stop()));
    await env?.cleanup();
  }, 60_000);

  let owner: Page;

  it('signs in with a personal access token and lands on the first workspace’s traces', async () => {
    const page = await context.newPage();
    await page.goto(`${consoleUrl}/`);
    await page.locator('input[name="token"]').waitFor();
    await shot(page, '01-sign-in');
    await page.locator('input[name="token"]').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/refused|Sign in again/i);
    await page.close();

    owner = await signIn(boot.ownerToken);
    await expect.poll(() => hashOf(owner)).toBe(`#/orgs/${boot.org.id}/workspaces/${dev().id}/traces`);
    expect(await owner.evaluate(() => sessionStorage.getItem('canopy.token'))).toBe(boot.ownerToken);
    await expect.poll(() => owner.getByTestId('org-role').textContent()).toContain('owner');
  }, 60_000);

  it('finds the trace an OTel SDK sent, with filters that live in the URL', async () => {
    await owner.locator('input[name="service"]').fill(SERVICE);
    await owner.locator('select[name="status"]').selectOption('error');
    await owner.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => hashOf(owner)).toContain(`service=${SERVICE}`);
    expect(hashOf(owner)).toContain('status=error');
    const row = owner.locator(`tr[data-trace-id="${checkout.traceId}"]`);
    await row.waitFor();
    // The previous page's results stay on screen (dimmed) until the new ones arrive.
    await expect.poll(() => owner.locator('[data-testid="trace-results"] tbody tr').count()).toBe(1);
    const cells = await row.locator('td').allTextContents();
    expect(cells[1]).toContain(SERVICE);
    expect(cells[2]).toBe('GET /checkout');
    expect(cells[4]).toBe('3');
    expect(cells[5]).toBe('1');
    await shot(owner, '02-trace-search');

    // The URL alone reproduces the search: a fresh load of it shows the same result.
    await owner.reload();
    await owner.locator(`tr[data-trace-id="${checkout.traceId}"]`).waitFor();
    expect(await owner.locator('input[name="service"]').inputValue()).toBe(SERVICE);
  }, 60_000);

  it('says so when no trace matches, and when a trace does not exist', async () => {
    await owner.goto(`${consoleUrl}/#/orgs/${boot.org.id}/workspaces/${dev().id}/traces?service=no-such-service`);
    await owner.getByTestId('empty-state').waitFor();
    expect(await owner.getByTestId('empty-state').textContent()).toContain('No traces match');
    await owner.goto(`${consoleUrl}/#/orgs/${boot.org.id}/workspaces/${dev().id}/traces/${'0'.repeat(31)}1`);
    await owner.getByTestId('error-state').waitFor();
    expect(await owner.getByTestId('error-state').textContent()).toContain('Not found');
    await shot(owner, '03a-trace-not-found');
    await owner.goBack();
    await owner.goBack();
    await owner.locator(`tr[data-trace-id="${checkout.traceId}"]`).waitFor();
  }, 60_000);

  it('opens the trace’s waterfall with nesting, services and the error marked', async () => {
    await owner.locator(`tr[data-trace-id="${checkout.traceId}"] a.trace-link`).click();
    await expect.poll(() => hashOf(owner)).toContain(`/traces/${checkout.traceId}`);
    const rows = owner.getByTestId('waterfall-row');
    await expect.poll(() => rows.count()).toBe(3);
    expect(await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-span-id')))).toEqual([checkout.rootSpanId, checkout.childSpanId, checkout.grandchildSpanId]);
    const indents = await owner.locator('[data-testid="waterfall-row"] .wf-name').evaluateAll((els) => els.map((e) => parseFloat((e as HTMLElement).style.paddingLeft)));
    expect(indents[0]).toBeLessThan(indents[1]!);
    expect(indents[1]).toBeLessThan(indents[2]!);
    expect(await rows.nth(1).getAttribute('class')).toContain('error');
    expect(await rows.nth(0).getAttribute('class')).not.toContain('error');
    expect(await owner.getByTestId('trace-summary').textContent()).toContain('1 error');
    await shot(owner, '03-waterfall');
  }, 60_000);

  it('shows a span’s typed attributes, resource, scope, events and links', async () => {
    await owner.locator(`[data-span-id="${checkout.rootSpanId}"]`).click();
    await expect.poll(() => hashOf(owner)).toContain(`span=${checkout.rootSpanId}`);
    const attrs = owner.getByTestId('attribute-table');
    await attrs.waitFor();
    const table = Object.fromEntries(
      (await attrs.locator('tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent ?? '')))).map(([k, t, v]) => [k, `${t} ${v}`]),
    );
    expect(table).toMatchObject({
      'http.status_code': 'int 500',
      'cart.total': 'double 12.75',
      'user.vip': 'bool true',
      'http.method': 'string GET',
      'items.ids': 'int[] [1,2,3]',
      'items.names': 'string[] ["apple","pear"]',
    });
    expect(await owner.getByTestId('span-resource').textContent()).toContain(SERVICE);
    expect(await owner.getByTestId('span-scope').textContent()).toContain('canopy-e2e');
    await shot(owner, '04-span-attributes');

    await owner.locator(`[data-span-id="${checkout.childSpanId}"]`).click();
    await expect.poll(() => owner.getByTestId('span-events').textContent()).toContain('retry');
    expect(await owner.getByTestId('span-details').textContent()).toContain('card declined');
    expect(await owner.getByTestId('span-links').textContent()).toContain(checkout.linkedTraceId);
    await shot(owner, '05-span-events-links');
  }, 60_000);

  it('shows a GenAI span’s model, tokens and cost', async () => {
    await owner.goto(`${consoleUrl}/#/orgs/${boot.org.id}/workspaces/${dev().id}/traces/${genai.genaiTraceId}?span=${genai.genaiSpanId}`);
    const card = owner.getByTestId('genai-card');
    await card.waitFor();
    const text = (await card.textContent()) ?? '';
    expect(text).toContain('gpt-4o-2024-08-06');
    expect(text).toContain('1,200');
    expect(text).toContain('340');
    const price = createPriceBook([]).lookup('gpt-4o-2024-08-06')!;
    const expected = formatUsd(
      (() => {
        const pico = costPico({ uncachedInputTokens: 1200n, outputTokens: 340n, cacheReadTokens: 0n, cacheCreationTokens: 0n }, price);
        return `${pico / 10n ** 12n}.${(pico % 10n ** 12n).toString().padStart(12, '0')}`;
      })(),
    );
    expect(await owner.getByTestId('genai-cost').textContent()).toContain(expected);
    // the prompt the collector cut: named with its size as sent, and marked in the attribute table
    expect(await owner.getByTestId('span-limits').textContent()).toContain(`gen_ai.prompt: cut, ${formatBytes(180_011)} as sent`);
    expect(await owner.getByTestId('attribute-table').getByTestId('cut-badge').count()).toBe(1);
    expect(await owner.getByTestId('waterfall').getAttribute('data-span-count')).toBe('3');
    await shot(owner, '06-genai-span');
  }, 60_000);

  it('keeps a 5,000-span trace responsive: few DOM rows, quick scrolling and selection', async () => {
    const started = Date.now();
    await owner.goto(`${consoleUrl}/#/orgs/${boot.org.id}/workspaces/${dev().id}/traces/${genai.largeTraceId}`);
    await owner.locator(`[data-testid="waterfall"][data-span-count="${LARGE_TRACE_SPANS}"]`).waitFor({ timeout: 30_000 });
    const loadMs = Date.now() - started;
    const rendered = await owner.getByTestId('waterfall-row').count();
    expect(rendered).toBeGreaterThan(10);
    expect(rendered).toBeLessThan(150);

    // Scroll through the whole trace, frame by frame, measuring in the page.
    const frameMs = await owner.evaluate(async () => {
      const el = document.querySelector('[data-testid="waterfall-viewport"]') as HTMLElement;
      const frame = (): Promise<void> => new Promise((r) => requestAnimationFrame(() => r()));
      const steps = 25;
      const t = performance.now();
      for (let i = 1; i <= steps; i++) {
        el.scrollTop = (el.scrollHeight * i) / steps;
        await frame();
        await frame();
      }
      return (performance.now() - t) / steps;
    });
    await expect.poll(() => owner.locator(`[data-testid="waterfall-row"][aria-rowindex="${LARGE_TRACE_SPANS}"]`).count()).toBe(1);
    expect(await owner.getByTestId('waterfall-row').count()).toBeLessThan(150);

    const clickStarted = Date.now();
    await owner.locator(`[data-testid="waterfall-row"][aria-rowindex="${LARGE_TRACE_SPANS}"]`).click();
    await owner.getByTestId('span-details').waitFor();
    const selectMs = Date.now() - clickStarted;

    const foldStarted = Date.now();
    await owner.getByRole('button', { name: 'Collapse all' }).click();
    await expect.poll(() => owner.getByTestId('waterfall-row').count()).toBe(1);
    expect(await owner.locator('.wf-toolbar').textContent()).toContain(`1 of ${LARGE_TRACE_SPANS} spans shown`);
    await owner.getByRole('button', { name: 'Expand all' }).click();
    await expect.poll(() => owner.locator('.wf-toolbar').textContent()).toContain(`${LARGE_TRACE_SPANS} spans ·`);
    expect(await owner.getByTestId('waterfall-row').count()).toBeGreaterThan(10);
    const foldMs = Date.now() - foldStarted;
    process.stderr.write(`console e2e: 5,000-span trace loaded+rendered in ${loadMs} ms, ${frameMs.toFixed(1)} ms per scroll step, selection ${selectMs} ms, fold+unfold ${foldMs} ms\n`);
    // Generous bounds for a shared 2-core machine: an unvirtualized 5,000-row render takes seconds per step.
    expect(frameMs).toBeLessThan(250);
    expect(selectMs).toBeLessThan(3_000);
    expect(foldMs).toBeLessThan(5_000);
    await shot(owner, '07-large-trace');
  }, 120_000);

  it('charts request rate, error rate, latency, and GenAI tokens and cost per model', async () => {
    await owner.goto(`${consoleUrl}/#/orgs/${boot.org.id}/workspaces/${dev().id}/analytics`);
    await owner.getByTestId('span-charts').waitFor({ timeout: 30_000 });
    for (const id of ['chart-rate', 'chart-errors', 'chart-latency']) {
      await expect.poll(() => owner.locator(`[data-testid="${id}"] .recharts-line-curve`).count(), { message: id }).toBeGreaterThan(0);
    }
    await owner.getByTestId('genai-charts').waitFor();
    await expect.poll(() => owner.locator('[data-testid="chart-tokens"] .recharts-bar-rectangle').count()).toBeGreaterThan(0);
    expect(await owner.getByTestId('genai-table').textContent()).toContain('gpt-4o');
    await shot(owner, '08-analytics');
  }, 60_000);

  it('creates an API key, shows its secret once with a copy button, and revokes it after confirmation', async () => {
    await owner.getByRole('link', { name: 'API keys' }).click();
    await owner.getByTestId('create-key-form').waitFor();
    await owner.getByTestId('create-key-form').locator('input').first().fill('console e2e key');
    await owner.getByRole('button', { name: 'Create key' }).click();
    const secret = (await owner.getByTestId('new-key-secret').textContent())!.trim();
    expect(secret.length).toBeGreaterThan(20);
    await owner.getByTestId('copy-button').click();
    await expect.poll(() => owner.getByTestId('copy-button').textContent()).toBe('Copied');
    expect(await owner.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    const listed = await api<{ keys: Array<{ id: string; name: string; prefix: string; revokedAt: string | null }> }>(boot.ownerToken, `/workspaces/${dev().id}/keys`);
    const created = listed.keys.find((k) => k.name === 'console e2e key')!;
    expect(secret.startsWith(created.prefix)).toBe(true);
    await shot(owner, '09-keys-created');

    const row = owner.locator(`tr[data-key-id="${created.id}"]`);
    await row.getByRole('button', { name: 'Revoke' }).click();
    expect(await row.textContent()).toContain('Anything using it is refused');
    await row.getByRole('button', { name: 'Yes, revoke' }).click();
    await expect.poll(() => row.textContent()).toContain('revoked');
    const after = await api<{ keys: Array<{ id: string; revokedAt: string | null }> }>(boot.ownerToken, `/workspaces/${dev().id}/keys`);
    expect(after.keys.find((k) => k.id === created.id)!.revokedAt).not.toBeNull();
    // Once stored away, the secret is gone from the page for good.
    await owner.getByRole('button', { name: 'I have stored it' }).click();
    expect(await owner.content()).not.toContain(secret);
    await shot(owner, '10-keys-revoked');
  }, 60_000);

  it('lists members with their roles and the audit log for the owner', async () => {
    await owner.getByRole('link', { name: 'Members' }).click();
    await owner.getByTestId('members-table').waitFor();
    const members = (await owner.getByTestId('members-table').textContent()) ?? '';
    expect(members).toContain('Vera Viewer');
    expect(members).toContain('dev: viewer');
    // Give Vera a role in prod from the page, then take it away again.
    const vera = owner.locator('[data-testid="members-table"] tr', { hasText: 'Vera Viewer' });
    await vera.getByRole('button', { name: 'Edit' }).click();
    await vera.getByLabel(/in prod$/).selectOption('developer');
    await expect.poll(() => vera.textContent()).toContain('prod: developer');
    await shot(owner, '11-members');
    await vera.getByLabel(/in prod$/).selectOption('');
    await expect.poll(() => vera.textContent()).not.toContain('prod: developer');
    expect(await vera.textContent()).toContain('dev: viewer');
    await owner.getByRole('link', { name: 'Audit log' }).click();
    await owner.getByTestId('audit-table').waitFor();
    expect(await owner.getByTestId('audit-table').textContent()).toContain('key');
    await shot(owner, '12-audit');
    await owner.getByRole('link', { name: 'Workspaces' }).click();
    await owner.getByTestId('workspaces-table').waitFor();
    await shot(owner, '13-workspaces');
  }, 60_000);

  it('shows billing the usage chart and table, quota, and a CSV that is exactly the API’s', async () => {
    const page = await signIn(boot.billingToken);
    await expect.poll(() => hashOf(page)).toBe(`#/orgs/${boot.org.id}/usage`);
    await expect.poll(() => page.locator('[data-testid="usage-chart"] .recharts-bar-rectangle').count(), { timeout: 20_000 }).toBeGreaterThan(0);
    expect(await page.getByTestId('usage-table').textContent()).toContain('dev');
    expect(await page.getByTestId('quota').textContent()).toContain('of 50,000');
    const nav = (await page.getByRole('navigation', { name: 'Sections' }).textContent()) ?? '';
    expect(nav).toContain('Usage');
    for (const hidden of ['Traces', 'Analytics', 'API keys', 'Members', 'Audit log']) expect(nav).not.toContain(hidden);
    await shot(page, '14-usage-billing');

    const request = page.waitForRequest((r) => r.url().includes('/usage?') && r.url().includes('format=csv'));
    const download = page.waitForEvent('download');
    await page.getByTestId('download-csv').click();
    const csvUrl = (await request).url();
    const file = await (await download).path();
    const downloaded = fs.readFileSync(file, 'utf8');
    const fromApi = await fetch(csvUrl.replace(consoleUrl, apiUrl), { headers: { Authorization: `Bearer ${boot.billingToken}` } }).then((r) => r.text());
    expect(downloaded).toBe(fromApi);
    expect(downloaded.split('\r\n')[0]).toMatch(/^workspace_id,workspace_slug,day,/);
    expect(downloaded).toContain(dev().id);
    expect((await download).suggestedFilename()).toMatch(/^canopy-usage-.*\.csv$/);

    // Trace content is not offered, and a direct link says why instead of failing.
    await page.goto(`${consoleUrl}/#/orgs/${boot.org.id}/workspaces/${dev().id}/traces`);
    await page.getByTestId('forbidden').waitFor();
    await page.close();
  }, 60_000);

  it('does not offer a viewer key management (nor usage, members or audit)', async () => {
    const page = await signIn(viewerToken);
    await expect.poll(() => hashOf(page)).toBe(`#/orgs/${boot.org.id}/workspaces/${dev().id}/traces`);
    await expect.poll(() => page.getByTestId('org-role').textContent()).toContain('viewer');
    const nav = (await page.getByRole('navigation', { name: 'Sections' }).textContent()) ?? '';
    expect(nav).toContain('Traces');
    expect(nav).toContain('Analytics');
    for (const hidden of ['API keys', 'Usage', 'Members', 'Audit log']) expect(nav).not.toContain(hidden);
    await page.locator(`tr[data-trace-id="${checkout.traceId}"]`).waitFor();
    await shot(page, '15-viewer-traces');

    await page.goto(`${consoleUrl}/#/orgs/${boot.org.id}/workspaces/${dev().id}/keys`);
    await page.getByTestId('forbidden').waitFor();
    expect(await page.getByTestId('create-key-form').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
    await shot(page, '16-viewer-keys-forbidden');
    await page.close();
  }, 60_000);

  // The ingest ledger. prod receives only what these tests send, so its numbers are known.
  const prod = (): BootstrapResult['workspaces'][number] => boot.workspaces.find((w) => w.slug === 'prod')!;
  const LEDGER_SPANS = 25;
  const INVALID_SPANS = 2;
  let ledgerSentAt = 0;

  interface Ledger {
    totals: { accepted: number; stored: number; queued: number; deadLettered: number; rejected: { invalid: number } };
    lag: { pendingBatches: number };
    reconciliation: { checkedThrough: string | null; flagged: unknown[] };
  }
  interface ListedDeadLetter {
    id: string;
    batchId: string;
    status: string;
    replayCount: number;
    deadLetteredAt: string;
  }
  const ledgerOf = (workspaceId: string): Promise<Ledger> => api<Ledger>(boot.ownerToken, `/workspaces/${workspaceId}/ingest?from=${new Date(Date.now() - 3_600_000).toISOString()}`);
  const deadLetter = (workspaceId: string, id: string): Promise<ListedDeadLetter> => api<ListedDeadLetter>(boot.ownerToken, `/workspaces/${workspaceId}/dead-letters/${id}`);

  /** One OTLP/JSON request: `valid` spans and `invalid` ones (all-zero trace id) the collector refuses one by one. */
  async function sendSpans(ingestKey: string, counts: { valid: number; invalid: number }): Promise<number> {
    const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
    const start = BigInt(Date.now()) * 1_000_000n;
    const traceId = hex(16);
    const span = (i: number, bad: boolean) => ({ traceId: bad ? '0'.repeat(32) : traceId, spanId: hex(8), name: `ledger-${i}`, kind: 2, startTimeUnixNano: String(start), endTimeUnixNano: String(start + 5_000_000n) });
    const spans = [...Array.from({ length: counts.valid }, (_, i) => span(i, false)), ...Array.from({ length: counts.invalid }, (_, i) => span(counts.valid + i, true))];
    const body = { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'ledger-e2e' } }] }, scopeSpans: [{ scope: { name: 'e2e' }, spans }] }] };
    const res = await fetch(`${collectorUrl}/v1/traces`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${ingestKey}` }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    return Number(((await res.json()) as { partialSuccess?: { rejectedSpans?: number | string } }).partialSuccess?.rejectedSpans ?? 0);
  }

  /**
   * Batches ClickHouse refuses (rows that are not JSON), queued the way the collector queues
   * (pending mark, then the job) with one attempt: the running workers keep each as a dead letter.
   */
  async function queuePoisonBatches(workspaceId: string, count: number): Promise<string[]> {
    const slug = boot.workspaces.find((w) => w.id === workspaceId)!.slug;
    const keys = await api<{ keys: Array<{ id: string; name: string }> }>(boot.ownerToken, `/workspaces/${workspaceId}/keys`);
    const keyId = keys.keys.find((k) => k.name === `${slug} ingest`)!.id;
    const redis = createRedis(env.config.redis.url);
    const queue = createSpanQueue(redis, env.config.redis.queuePrefix);
    const batchIds: string[] = [];
    try {
      if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
      for (let i = 0; i < count; i++) {
        const receivedAtMs = Date.now();
        const sec = Math.floor(receivedAtMs / 1000);
        const batch: SpanBatch = {
          v: 1,
          batchId: newId('batch'),
          orgId: boot.org.id,
          workspaceId,
          keyId,
          receivedAtMs,
          spanCount: 1,
          bytes: 64,
          minTimestampSec: sec,
          maxTimestampSec: sec,
          groups: [{ prefix: '"org_id": this is not json', spans: '"name":1' }],
        };
        await markPending(redis, env.config.redis.queuePrefix, batch);
        await queue.add(batch, { attempts: 1 });
        batchIds.push(batch.batchId);
      }
    } finally {
      await queue.close();
      redis.disconnect();
    }
    return batchIds;
  }

  it('shows a workspace’s ingest ledger: accepted and stored as sent, refusals by reason, the lag, per key, refreshing itself', async () => {
    ledgerSentAt = Date.now();
    expect(await sendSpans(prod().ingestKey, { valid: LEDGER_SPANS, invalid: INVALID_SPANS })).toBe(INVALID_SPANS);
    // The collector's counters reach Postgres with the workers' next flush (every 2 s).
    await waitFor(
      async () => {
        const l = await ledgerOf(prod().id);
        return l.totals.accepted === LEDGER_SPANS && l.totals.stored === LEDGER_SPANS && l.totals.rejected.invalid === INVALID_SPANS && l.lag.pendingBatches === 0;
      },
      { timeoutMs: 60_000, what: 'the ledger of prod' },
    );

    await owner.goto(`${consoleUrl}/#/orgs/${boot.org.id}/workspaces/${prod().id}/traces`);
    await owner.getByRole('link', { name: 'Ingest', exact: true }).click();
    await expect.poll(() => hashOf(owner)).toBe(`#/orgs/${boot.org.id}/workspaces/${prod().id}/ingest`);
    await owner.getByTestId('ingest-totals').waitFor();
    const stat = (id: string) => owner.getByTestId(`stat-${id}-value`).textContent();
    expect(await stat('accepted')).toBe(String(LEDGER_SPANS));
    expect(await stat('stored')).toBe(String(LEDGER_SPANS));
    expect(await stat('queued')).toBe('0');
    expect(await stat('rejected')).toBe(String(INVALID_SPANS));
    expect(await owner.getByTestId('stat-rejected').textContent()).toContain(`${INVALID_SPANS} invalid`);
    expect(await stat('dead-lettered')).toBe('0');
    expect(await stat('lag')).toBe('caught up');
    expect(await owner.getByTestId('stat-lag').textContent()).toContain('no batches pending');
    await expect.poll(() => owner.locator('[data-testid="ingest-chart"] .recharts-line-curve').count()).toBe(2);
    // Per key, by name: the owner may read the key list.
    const keyRow = owner.locator('[data-testid="key-table"] tbody tr');
    expect(await keyRow.count()).toBe(1);
    const cells = await keyRow.locator('td').allTextContents();
    expect(cells[0]).toContain('prod ingest');
    expect(cells.slice(1)).toEqual([String(LEDGER_SPANS), String(LEDGER_SPANS), '0', String(INVALID_SPANS), '0', '0']);
    await shot(owner, '17-ingest-ledger');

    // The range lives in the URL; the page reloads itself about every 10 s while visible.
    await owner.getByTestId('range-button').click();
    await owner.getByRole('button', { name: 'Last 15 minutes' }).click();
    await expect.poll(() => hashOf(owner)).toContain('from=now-15m');
    const updated = owner.getByTestId('ingest-updated');
    await expect.poll(() => updated.textContent()).toMatch(/^Updated /);
    const first = await updated.textContent();
    expect(await stat('accepted')).toBe(String(LEDGER_SPANS));
    await expect.poll(async () => { const t = await updated.textContent(); return t !== first && t!.startsWith('Updated '); }, { timeout: 15_000 }).toBe(true);
  }, 120_000);

  it('lists dead letters for an admin: inspect, replay, discard after confirmation, and says so when another hand got there first', async () => {
    const ws = dev().id;
    const batchIds = await queuePoisonBatches(ws, 3);
    const listed = await waitFor(
      async () => {
        const { deadLetters } = await api<{ deadLetters: ListedDeadLetter[] }>(boot.ownerToken, `/workspaces/${ws}/dead-letters`);
        const ours = batchIds.map((b) => deadLetters.find((d) => d.batchId === b));
        return ours.every((d) => d !== undefined) ? (ours as ListedDeadLetter[]) : null;
      },
      { timeoutMs: 60_000, what: 'three dead letters' },
    );
    const [toReplay, toDiscard, takenElsewhere] = listed as [ListedDeadLetter, ListedDeadLetter, ListedDeadLetter];

    await owner.goto(`${consoleUrl}/#/orgs/${boot.org.id}/workspaces/${ws}/ingest`);
    await owner.getByRole('tab', { name: 'Dead letters' }).click();
    await expect.poll(() => hashOf(owner)).toContain('tab=dead-letters');
    await owner.getByTestId('dead-letter-table').waitFor();
    // Newest first.
    const order = await owner.locator('[data-testid="dead-letter-table"] tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-dead-letter-id')));
    const newestFirst = [...listed].sort((a, b) => Date.parse(b.deadLetteredAt) - Date.parse(a.deadLetteredAt) || b.id.localeCompare(a.id)).map((d) => d.id);
    expect(order).toEqual(newestFirst);
    const row = (id: string) => owner.locator(`tr[data-dead-letter-id="${id}"]`);
    expect(await row(toReplay.id).textContent()).toContain('clickhouse_rejected');

    // Inspect: the error and the first rows as JSON (a row that is not JSON shown as text).
    await row(toReplay.id).getByRole('button', { name: 'Inspect' }).click();
    await expect.poll(() => hashOf(owner)).toContain(`dl=${toReplay.id}`);
    const panel = owner.getByTestId('dead-letter-panel');
    await panel.getByTestId('dead-letter-rows').waitFor();
    expect(await panel.getByTestId('dead-letter-error').textContent()).toContain('clickhouse_rejected');
    expect(await panel.getByTestId('dead-letter-rows').textContent()).toContain('"unparsable"');
    await shot(owner, '18-dead-letter-inspect');

    await panel.getByRole('button', { name: 'Replay' }).click();
    await expect.poll(() => panel.getByTestId('dead-letter-notice').textContent()).toContain('Replayed');
    await expect.poll(() => row(toReplay.id).getAttribute('data-status')).toBe('replayed');
    expect(await deadLetter(ws, toReplay.id)).toMatchObject({ status: 'replayed', replayCount: 1 });
    await owner.keyboard.press('Escape');
    await expect.poll(() => panel.count()).toBe(0);

    // Discard asks first.
    await row(toDiscard.id).getByRole('button', { name: 'Discard' }).click();
    expect(await row(toDiscard.id).textContent()).toContain('for good');
    expect((await deadLetter(ws, toDiscard.id)).status).toBe('open');
    await row(toDiscard.id).getByRole('button', { name: 'Yes, discard' }).click();
    // Shown discarded at once; the notice comes with the API's answer.
    expect(await row(toDiscard.id).getAttribute('data-status')).toBe('discarded');
    await expect.poll(() => row(toDiscard.id).getByTestId('dead-letter-notice').textContent()).toBe('Discarded.');
    expect((await deadLetter(ws, toDiscard.id)).status).toBe('discarded');

    // Replayed behind the page's back: the page's discard meets a 409 and says what happened.
    const res = await fetch(`${apiUrl}/api/v1/workspaces/${ws}/dead-letters/${takenElsewhere.id}/replay`, { method: 'POST', headers: { Authorization: `Bearer ${boot.ownerToken}` } });
    expect(res.status).toBe(202);
    await row(takenElsewhere.id).getByRole('button', { name: 'Discard' }).click();
    await row(takenElsewhere.id).getByRole('button', { name: 'Yes, discard' }).click();
    await expect.poll(() => row(takenElsewhere.id).getByTestId('dead-letter-notice').textContent()).toContain('Already replayed or discarded');
    await expect.poll(() => row(takenElsewhere.id).getAttribute('data-status')).toBe('replayed');
    expect((await deadLetter(ws, takenElsewhere.id)).status).toBe('replayed');
    await shot(owner, '19-dead-letters-actions');

    // The status filter lives in the URL.
    await owner.getByRole('group', { name: 'Status' }).getByRole('button', { name: 'discarded' }).click();
    await expect.poll(() => hashOf(owner)).toContain('status=discarded');
    await expect.poll(() => owner.locator('[data-testid="dead-letter-table"] tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-dead-letter-id')))).toEqual([toDiscard.id]);
  }, 120_000);

  it('shows a viewer the ledger but not the dead letters, nor the org overview', async () => {
    const page = await signIn(viewerToken);
    await expect.poll(() => hashOf(page)).toBe(`#/orgs/${boot.org.id}/workspaces/${dev().id}/traces`);
    const nav = page.getByRole('navigation', { name: 'Sections' });
    await expect.poll(() => nav.textContent()).toContain('Ingest');
    expect(await nav.textContent()).not.toContain('Ingest overview');
    await page.goto(`${consoleUrl}/#/orgs/${boot.org.id}/workspaces/${dev().id}/ingest?tab=dead-letters`);
    await page.getByTestId('ingest-totals').waitFor();
    expect(Number((await page.getByTestId('stat-accepted-value').textContent())!.replace(/,/g, ''))).toBeGreaterThan(LARGE_TRACE_SPANS);
    expect(await page.getByRole('tab', { name: 'Dead letters' }).count()).toBe(0);
    expect(await page.getByTestId('dead-letters').count()).toBe(0);
    // Viewers may not read keys: the per-key table shows ids.
    expect(await page.locator('[data-testid="key-table"]').textContent()).not.toContain('dev ingest');
    await shot(page, '20-viewer-ingest');
    await page.goto(`${consoleUrl}/#/orgs/${boot.org.id}/ingest`);
    await page.getByTestId('forbidden').waitFor();
    await page.close();
  }, 60_000);

  it('gives owners an org-wide ingest overview per workspace', async () => {
    await owner.goto(`${consoleUrl}/#/orgs/${boot.org.id}/workspaces/${prod().id}/traces`);
    await owner.getByRole('link', { name: 'Ingest overview' }).click();
    await expect.poll(() => hashOf(owner)).toBe(`#/orgs/${boot.org.id}/ingest`);
    const prodRow = owner.locator(`[data-testid="org-ingest-table"] tr[data-workspace-id="${prod().id}"]`);
    await prodRow.waitFor();
    const cells = await prodRow.locator('td').allTextContents();
    expect(cells.slice(0, 6)).toEqual(['prod', String(LEDGER_SPANS), String(LEDGER_SPANS), '0', String(INVALID_SPANS), '0']);
    expect(cells[6]).toContain('caught up');
    expect(cells[7]).toBe('nothing flagged');
    expect(await owner.locator(`[data-testid="org-ingest-table"] tr[data-workspace-id="${dev().id}"]`).count()).toBe(1);
    await shot(owner, '21-org-ingest');
  }, 60_000);

  it('says the ledger balances once the reconciliation checked the minute the spans came in', async () => {
    const minuteEnd = Math.floor(ledgerSentAt / 60_000) * 60_000 + 60_000;
    // The workers reconcile every 2 s, a minute 2 s after it ends.
    await waitFor(async () => {
      const { reconciliation } = await ledgerOf(prod().id);
      return reconciliation.checkedThrough !== null && Date.parse(reconciliation.checkedThrough) >= minuteEnd;
    }, { timeoutMs: 100_000, what: `reconciliation through ${new Date(minuteEnd).toISOString()}` });
    expect((await ledgerOf(prod().id)).reconciliation.flagged).toEqual([]);
    await owner.goto(`${consoleUrl}/#/orgs/${boot.org.id}/workspaces/${prod().id}/ingest`);
    await expect.poll(() => owner.getByTestId('reconciliation').getAttribute('data-state'), { timeout: 15_000 }).toBe('balanced');
    expect(await owner.getByTestId('reconciliation').textContent()).toContain('checked through');
    await shot(owner, '22-ingest-balanced');
  }, 150_000);
});
