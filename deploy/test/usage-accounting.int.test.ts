import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { bootstrapOrganization } from '@canopy/core';
import { createTestEnv, freePort, startNodeProcess, waitFor, waitForHttp, type NodeProcess, type TestEnv } from '@canopy/core/testing';
import { encodeProtobufTraceRequest } from '@canopy/collector';

// Billing must equal what was accepted: the usage API's totals are compared with the
// collector's own /metrics counters after a mix of valid and invalid spans.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let env: TestEnv;
let boot: Awaited<ReturnType<typeof bootstrapOrganization>>;
let collectorUrl: string;
let apiUrl: string;
const processes: NodeProcess[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  boot = await bootstrapOrganization(env.pool, { name: 'ledger', workspaceSlugs: ['dev', 'prod'] });
  const collectorPort = await freePort();
  const apiPort = await freePort();
  collectorUrl = `http://127.0.0.1:${collectorPort}`;
  apiUrl = `http://127.0.0.1:${apiPort}/api/v1`;
  const serviceEnv = { ...env.env, CANOPY_COLLECTOR_PORT: String(collectorPort), CANOPY_API_PORT: String(apiPort), CANOPY_BATCH_MAX_WAIT_MS: '50' };
  processes.push(
    startNodeProcess(`${ROOT}collector/dist/main.js`, serviceEnv),
    startNodeProcess(`${ROOT}workers/dist/main.js`, serviceEnv),
    startNodeProcess(`${ROOT}query-api/dist/main.js`, serviceEnv),
  );
  await waitForHttp(`${collectorUrl}/readyz`);
  await waitForHttp(`http://127.0.0.1:${apiPort}/readyz`);
});

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  await env?.cleanup();
});

let seq = 0;
/** `valid` good spans plus `invalid` spans with a 15-byte trace id, in one request. */
function request(valid: number, invalid: number): Uint8Array {
  const now = BigInt(Date.now()) * 1_000_000n;
  const n = seq++;
  const span = (i: number, traceId: string) => ({
    traceId,
    spanId: (n * 10_000 + i + 1).toString(16).padStart(16, '0'),
    name: `op-${i % 3}`,
    startTimeUnixNano: (now + BigInt(i)).toString(),
    endTimeUnixNano: (now + BigInt(i) + 5_000n).toString(),
    attributes: [{ key: 'i', value: { intValue: String(i) } }],
  });
  const traceId = (n + 1).toString(16).padStart(32, '0');
  return encodeProtobufTraceRequest({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: `svc-${n % 2}` } }] },
        scopeSpans: [{ spans: [...Array.from({ length: valid }, (_, i) => span(i, traceId)), ...Array.from({ length: invalid }, (_, i) => span(valid + i, 'ab'.repeat(15)))] }],
      },
    ],
  });
}

async function counter(name: string): Promise<number> {
  const text = await (await fetch(`${collectorUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(name) && !l.startsWith('#'))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

describe('usage equals what the collector accepted', () => {
  it('has usage totals equal to the collector’s accepted-span counter, per workspace and in total', async () => {
    const sent = { dev: 0, prod: 0 };
    for (let i = 0; i < 30; i++) {
      const ws = i % 3 === 0 ? 'prod' : 'dev';
      const key = boot.workspaces.find((w) => w.slug === ws)!.ingestKey;
      const valid = 10 + (i % 7) * 13;
      const res = await fetch(`${collectorUrl}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${key}` },
        body: request(valid, i % 4),
      });
      expect(res.status).toBe(200);
      sent[ws] += valid;
    }
    const accepted = await counter('canopy_collector_spans_accepted_total');
    const rejected = await counter('canopy_collector_spans_rejected_total');
    expect(accepted).toBe(sent.dev + sent.prod);
    expect(rejected).toBe(Array.from({ length: 30 }, (_, i) => i % 4).reduce((a, b) => a + b, 0));

    const day = new Date().toISOString().slice(0, 10);
    const nextDay = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const usage = await waitFor(
      async () => {
        const res = await fetch(`${apiUrl}/orgs/${boot.org.id}/usage?from=${day}&to=${nextDay}&groupBy=workspace`, { headers: { authorization: `Bearer ${boot.billingToken}` } });
        const body = (await res.json()) as {
          rows: Array<{ workspaceSlug: string; spans: number; priceVersions: number[]; provisional: boolean }>;
          totals: { spans: number; provisional: boolean };
          quota: { used: number };
        };
        return body.totals?.spans === accepted ? body : null;
      },
      { timeoutMs: 30_000, what: 'usage to reach the accepted count' },
    );
    expect(usage.totals.spans).toBe(accepted);
    expect(Object.fromEntries(usage.rows.map((r) => [r.workspaceSlug, r.spans]))).toEqual(sent);
    expect(usage.quota.used).toBe(accepted);
    // today is still open: every row says so, and no GenAI cost means no price version
    expect(usage.rows.map((r) => [r.provisional, r.priceVersions])).toEqual([
      [true, []],
      [true, []],
    ]);
    expect(usage.totals.provisional).toBe(true);

    const csv = await (
      await fetch(`${apiUrl}/orgs/${boot.org.id}/usage?from=${day}&to=${nextDay}&groupBy=workspace&format=csv`, { headers: { authorization: `Bearer ${boot.billingToken}` } })
    ).text();
    const [header, ...lines] = csv.trim().split('\r\n');
    const spansColumn = header!.split(',').indexOf('spans');
    expect(lines.reduce((sum, l) => sum + Number(l.split(',')[spansColumn]), 0)).toBe(accepted);
    expect(header!.split(',').slice(-2)).toEqual(['price_versions', 'provisional']);
    expect(lines.map((l) => l.split(',').pop())).toEqual(['true', 'true']);
  });
});
