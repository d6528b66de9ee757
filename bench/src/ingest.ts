import { AllTenants, normalizeTraceRequest, sql } from '@canopy/core';
import { createTestEnv, createTestOrg, freePort, startNodeProcess, waitForHttp, type TestEnv } from '@canopy/core/testing';
import { decodeProtobufTraceRequest, encodeProtobufTraceRequest } from '@canopy/collector';
import { generateRequest } from './generate.js';
import http from 'node:http';
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
  // usage_daily is written by the same insert as the spans and is tiny, so polling it
  // does not steal ClickHouse CPU from the pipeline being measured.
  const scope = { orgId, workspaceIds: [workspaceId] };
  const [row] = await env.clickhouse.query<{ n: string }>(scope, sql`SELECT sum(spans) AS n FROM usage_daily WHERE ${sql.tenant(scope)}`);
  return Number(row?.n ?? 0);
}

// A plain keep-alive client: the load generator shares the two cores with what it measures,
// so it should cost as little as an SDK's exporter does.
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function post(port: number, key: string, body: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: '/v1/traces', method: 'POST', agent, headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${key}`, 'content-length': body.byteLength } },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

async function send(port: number, key: string, payload: Payload): Promise<void> {
  for (;;) {
    const status = await post(port, key, payload.body);
    if (status >= 200 && status < 300) return;
    if (status !== 429 && status !== 503) throw new Error(`collector answered ${status}`);
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
  // The same Node flags `npm start` runs the services with (see deploy/scripts/start.mjs).
  const children = services.map((s) =>
    startNodeProcess(`${ROOT}${s}/dist/main.js`, { ...childEnv, CANOPY_LOG_LEVEL: 'warn' }, { echo: true, nodeArgs: ['--max-semi-space-size=32'] }),
  );
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
  let queuedBytes = 0;
  for (let i = 0; i < requests; i++) {
    const { request, firstTraceId } = generateRequest(spansPerRequest, i, base);
    const body = encodeProtobufTraceRequest(request);
    payloads.push({ body, firstTraceId });
    protobufBytes += body.byteLength;
    const normalized = normalizeTraceRequest(decodeProtobufTraceRequest(body), { orgId: 'org_bench', workspaceId: 'ws_bench', batchId: `b${i}`, ingestedAtSec: Math.floor(Date.now() / 1000) });
    rows.push(normalized.rows);
    rowBytes += Buffer.byteLength(normalized.rows);
    queuedBytes += normalized.groups.reduce((n, g) => n + Buffer.byteLength(g.prefix) + Buffer.byteLength(g.spans), 0);
  }

  // Decode + normalize alone, on this core: the collector's CPU floor per span.
  const decodeStart = performance.now();
  for (const p of payloads.slice(0, Math.min(requests, 100))) {
    normalizeTraceRequest(decodeProtobufTraceRequest(p.body), { orgId: 'o', workspaceId: 'w', batchId: 'b', ingestedAtSec: Math.floor(Date.now() / 1000) });
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
            // trace_index is keyed by (org, workspace, trace_id): a primary-key lookup.
            sql`SELECT DISTINCT trace_id FROM trace_index WHERE ${sql.tenant(scope)} AND trace_id IN (${sql.join(pending.map((t) => sql`${t}`))})`,
          );
          const now = performance.now();
          for (const { trace_id } of seen) {
            const at = acked.get(trace_id);
            if (at !== undefined) freshness.push(now - at);
            acked.delete(trace_id);
          }
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    const started = performance.now();
    await pool(requests, concurrency, async (i) => {
      const p = payloads[i]!;
      await send(port, key, p);
      if (i % 5 === 0) acked.set(p.firstTraceId, performance.now());
    });
    sending = false;
    while ((await countSpans(env, orgId, workspaceId)) < total) await new Promise((r) => setTimeout(r, 50));
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
    storedRowBytesPerSpan: round(rowBytes / total, 1),
    queuedBytesPerSpan: round(queuedBytes / total, 1),
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
