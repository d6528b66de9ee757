import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createTestEnv, freePort, startNodeProcess, waitFor, waitForHttp, type NodeProcess, type TestEnv } from '@canopy/core/testing';

// `canopy bootstrap` on a fresh database hands out secrets that work at once against a
// running stack: the ingest key sends spans, the read key reads them, the billing token
// reads usage and is refused trace content.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVICE_FIXTURE = fileURLToPath(new URL('./fixtures/otel-service.mjs', import.meta.url));

interface Bootstrap {
  org: { id: string; name: string };
  workspaces: Array<{ id: string; slug: string; ingestKey: string; readKey: string }>;
  ownerToken: string;
  billingToken: string;
}

let env: TestEnv;
let boot: Bootstrap;
let api: string;
let collectorPort: number;
const processes: NodeProcess[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  boot = JSON.parse(
    execFileSync(process.execPath, [`${ROOT}deploy/dist/cli.js`, 'bootstrap', '--org', 'acme', '--workspaces', 'dev,staging,prod', '--json'], {
      env: { ...process.env, ...env.env },
      encoding: 'utf8',
    }),
  ) as Bootstrap;
  collectorPort = await freePort();
  const apiPort = await freePort();
  api = `http://127.0.0.1:${apiPort}/api/v1`;
  const serviceEnv = {
    ...env.env,
    CANOPY_COLLECTOR_PORT: String(collectorPort),
    CANOPY_API_PORT: String(apiPort),
    CANOPY_COLLECTOR_HOST: '127.0.0.1',
    CANOPY_API_HOST: '127.0.0.1',
    CANOPY_BATCH_MAX_WAIT_MS: '50',
  };
  processes.push(
    startNodeProcess(`${ROOT}collector/dist/main.js`, serviceEnv),
    startNodeProcess(`${ROOT}workers/dist/main.js`, serviceEnv),
    startNodeProcess(`${ROOT}query-api/dist/main.js`, serviceEnv),
  );
  await waitForHttp(`http://127.0.0.1:${collectorPort}/readyz`);
  await waitForHttp(`http://127.0.0.1:${apiPort}/readyz`);
});

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  await env?.cleanup();
});

const get = async (path: string, secret: string): Promise<{ status: number; body: unknown }> => {
  const res = await fetch(`${api}${path}`, { headers: { authorization: `Bearer ${secret}` } });
  const text = await res.text();
  return { status: res.status, body: text && res.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as unknown) : text };
};

describe('canopy bootstrap on a fresh database', () => {
  it('prints the organization, its workspaces with keys, and owner and billing tokens', () => {
    expect(boot.org.name).toBe('acme');
    expect(boot.workspaces.map((w) => w.slug)).toEqual(['dev', 'staging', 'prod']);
    for (const w of boot.workspaces) {
      expect(w.ingestKey).toMatch(/^cnp_api_/);
      expect(w.readKey).toMatch(/^cnp_api_/);
    }
    expect(boot.ownerToken).toMatch(/^cnp_pat_/);
    expect(boot.billingToken).toMatch(/^cnp_pat_/);
  });

  it('gives keys and tokens that work at once: ingest sends, read reads, billing reads usage but no traces', async () => {
    const dev = boot.workspaces[0]!;
    const service = startNodeProcess(SERVICE_FIXTURE, {
      EXPORTER: 'proto',
      OTEL_SERVICE_NAME: 'bootstrapped',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collectorPort}`,
      OTEL_EXPORTER_OTLP_HEADERS: `Authorization=Bearer%20${dev.ingestKey}`,
    });
    expect(await service.exited, service.output()).toBe(0);
    const { traceId } = JSON.parse(service.output().trim().split('\n').pop()!) as { traceId: string };

    const detail = await waitFor(
      async () => {
        const r = await get(`/workspaces/${dev.id}/traces/${traceId}`, dev.readKey);
        return r.status === 200 && (r.body as { spans: unknown[] }).spans.length === 3 ? r : null;
      },
      { timeoutMs: 30_000, what: 'the trace to be readable with the read key' },
    );
    expect((detail.body as { traceId: string }).traceId).toBe(traceId);

    const from = Date.now() - 3_600_000;
    const to = Date.now() + 60_000;
    const search = await get(`/workspaces/${dev.id}/traces?from=${from}&to=${to}`, dev.readKey);
    expect(search.status).toBe(200);
    expect((search.body as { traces: Array<{ traceId: string }> }).traces.map((t) => t.traceId)).toContain(traceId);

    expect((await get(`/workspaces/${dev.id}/traces/${traceId}`, boot.ownerToken)).status).toBe(200);
    expect((await get(`/workspaces/${dev.id}/traces/${traceId}`, boot.billingToken)).status).toBe(403);
    expect((await get(`/workspaces/${dev.id}/traces?from=${from}&to=${to}`, boot.billingToken)).status).toBe(403);
    expect((await get(`/workspaces/${dev.id}/traces/${traceId}`, dev.ingestKey)).status).toBe(403);

    const day = new Date().toISOString().slice(0, 10);
    const nextDay = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const usage = await waitFor(
      async () => {
        const r = await get(`/orgs/${boot.org.id}/usage?from=${day}&to=${nextDay}&groupBy=workspace`, boot.billingToken);
        return r.status === 200 && (r.body as { totals: { spans: number } }).totals.spans === 4 ? r : null;
      },
      { timeoutMs: 30_000, what: 'usage to show the 4 spans' },
    );
    const rows = (usage.body as { rows: Array<{ workspaceSlug: string; spans: number }> }).rows;
    expect(rows).toEqual([expect.objectContaining({ workspaceSlug: 'dev', spans: 4 })]);
  });
});
