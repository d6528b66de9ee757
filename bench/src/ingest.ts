import { AllTenants, normalizeTraceRequest, sql } from '@canopy/core';
import { createTestEnv, createTestOrg, freePort, startNodeProcess, waitForHttp, type TestEnv } from '@canopy/core/testing';
import { decodeProtobufTraceRequest, encodeProtobufTraceRequest } from '@canopy/collector';
import { generateRequest } from './generate.js';
import { fileURLToPath } from 'node:url';
import { percentile, pool, round } from './stats.js';

export interface IngestBenchOptions {
  requests: number;
  spansPerRequest: number;
  concurrency: number;
}

interface Payload {
  body: Uint8Array;
  firstTraceId: string;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const log = (msg: string): void => void process.stderr.write(`[bench ingest] ${msg}\n`);

async function countSpans(env: TestEnv, orgId: string, workspaceId: string): Promise<number> {
  const [row] = await env.clickhouse.query<{ n: string }>({ orgId, workspaceIds: [workspaceId] }, sql`SELECT count() AS n FROM spans WHERE ${sql.tenant({ orgId, workspaceIds: [workspaceId] })}`);
  return Number(row?.n ?? 0);
}

async function send(port: number, key: string, payload: Payload): Promise<void> {
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${port}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${key}` },
      body: payload.body,
    });
    await res.arrayBuffer();
    if (res.ok) return;
    if (res.status !== 429 && res.status !== 503) throw new Error(`collector answered ${res.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** (a) Inserting the final rows straight into ClickHouse: the ceiling the pipeline is compared to. */
async function rawInsert(rowsPerRequest: string[], requestsPerInsert: number): Promise<number> {
  const env = await createTestEnv();
  try {
    const started = performance.now();
    for (let i = 0; i < rowsPerRequest.length; i += requestsPerInsert) {
      await env.clickhouse.insertJsonEachRow('spans', rowsPerRequest.slice(i, i + requestsPerInsert).join('\n'));
    }
    return performance.now() - started;
  } finally {
    await env.cleanup();
  }
}

async function withPipeline<T>(
  services: Array<'collector' | 'workers'>,
  fn: (ctx: { env: TestEnv; port: number; key: string; orgId: string; workspaceId: string }) => Promise<T>,
): Promise<T> {
  const env = await createTestEnv();
  const org = await createTestOrg(env, ['bench']);
  const ws = org.workspaces.bench!;
  const port = await freePort();
  const childEnv = { ...env.env, CANOPY_COLLECTOR_PORT: String(port), CANOPY_COLLECTOR_HOST: '127.0.0.1' };
  const children = services.map((s) => startNodeProcess(`${ROOT}${s}/dist/main.js`, { ...childEnv, CANOPY_LOG_LEVEL: 'warn' }, { echo: true }));
  try {
    if (services.includes('collector')) await waitForHttp(`http://127.0.0.1:${port}/readyz`);
    return await fn({ env, port, key: ws.ingestKey.key, orgId: org.orgId, workspaceId: ws.id });
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    await env.cleanup();
  }
}

export async function runIngestBench(options: IngestBenchOptions): Promise<Record<string, unknown>> {
  const { requests, spansPerRequest, concurrency } = options;
  const total = requests * spansPerRequest;
  log(`generating ${requests} requests x ${spansPerRequest} spans`);
  const base = BigInt(Date.now()) * 1_000_000n;
  const payloads: Payload[] = [];
  const rows: string[] = [];
  let protobufBytes = 0;
  let rowBytes = 0;
  for (let i = 0; i < requests; i++) {
    const { request, firstTraceId } = generateRequest(spansPerRequest, i, base);
    const body = encodeProtobufTraceRequest(request);
    payloads.push({ body, firstTraceId });
    protobufBytes += body.byteLength;
    const normalized = normalizeTraceRequest(decodeProtobufTraceRequest(body), { orgId: 'org_bench', workspaceId: 'ws_bench', batchId: `b${i}`, ingestedAtSec: Math.floor(Date.now() / 1000) });
    rows.push(normalized.rows);
    rowBytes += Buffer.byteLength(normalized.rows);
  }

  // Decode + normalize alone, on this core: the collector's CPU floor per span.
  const decodeStart = performance.now();
  for (const p of payloads.slice(0, Math.min(requests, 100))) {
    normalizeTraceRequest(decodeProtobufTraceRequest(p.body), { orgId: 'o', workspaceId: 'w', batchId: 'b', ingestedAtSec: 0 });
  }
  const decodeMs = performance.now() - decodeStart;
  const decodeSpansPerSec = (Math.min(requests, 100) * spansPerRequest) / (decodeMs / 1000);

  log('(a) raw ClickHouse insert');
  const requestsPerInsert = Math.max(1, Math.floor(50_000 / spansPerRequest));
  const rawMs = await rawInsert(rows, requestsPerInsert);

  log('(b) collector accept rate (no workers running)');
  const acceptMs = await withPipeline(['collector'], async ({ port, key }) => {
    const started = performance.now();
    await pool(requests, concurrency, (i) => send(port, key, payloads[i]!));
    return performance.now() - started;
  });

  log('(c) end to end: collector + workers until every row is in ClickHouse');
  const { e2eMs, freshness } = await withPipeline(['collector', 'workers'], async ({ env, port, key, orgId, workspaceId }) => {
    const acked = new Map<string, number>();
    const freshness: number[] = [];
    let sending = true;
    const scope = { orgId, workspaceIds: [workspaceId] };
    const poller = (async () => {
      while (sending || acked.size > 0) {
        const pending = [...acked.keys()];
        if (pending.length) {
          const seen = await env.clickhouse.query<{ trace_id: string }>(
            AllTenants,
            sql`SELECT DISTINCT trace_id FROM spans WHERE ${sql.tenant(scope)} AND trace_id IN (${sql.join(pending.map((t) => sql`${t}`))})`,
          );
          const now = performance.now();
          for (const { trace_id } of seen) {
            const at = acked.get(trace_id);
            if (at !== undefined) freshness.push(now - at);
            acked.delete(trace_id);
          }
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const started = performance.now();
    await pool(requests, concurrency, async (i) => {
      const p = payloads[i]!;
      await send(port, key, p);
      if (i % 5 === 0) acked.set(p.firstTraceId, performance.now());
    });
    sending = false;
    while ((await countSpans(env, orgId, workspaceId)) < total) await new Promise((r) => setTimeout(r, 25));
    const e2eMs = performance.now() - started;
    await poller;
    return { e2eMs, freshness: freshness.sort((a, b) => a - b) };
  });

  const rate = (ms: number): number => round(total / (ms / 1000), 0);
  const figures = {
    spans: total,
    requests,
    spansPerRequest,
    concurrency,
    protobufBytesPerSpan: round(protobufBytes / total, 1),
    queuedRowBytesPerSpan: round(rowBytes / total, 1),
    decodeNormalizeSpansPerSecOneCore: round(decodeSpansPerSec, 0),
    rawInsertSpansPerSec: rate(rawMs),
    collectorAcceptSpansPerSec: rate(acceptMs),
    endToEndSpansPerSec: rate(e2eMs),
    freshnessP50Ms: round(percentile(freshness, 50), 1),
    freshnessP99Ms: round(percentile(freshness, 99), 1),
    freshnessSamples: freshness.length,
  };
  return {
    bench: 'ingest',
    figures,
    ratios: {
      endToEndVsRawInsert: round(figures.endToEndSpansPerSec / figures.rawInsertSpansPerSec, 3),
      collectorAcceptVsRawInsert: round(figures.collectorAcceptSpansPerSec / figures.rawInsertSpansPerSec, 3),
    },
  };
}
