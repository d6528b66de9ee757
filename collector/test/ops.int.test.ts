import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@canopy/core';
import { createTestEnv, createTestOrg, type TestEnv } from '@canopy/core/testing';
import { createCollector } from '../src/index.js';
import { CONTENT_TYPE, encodeRequest, postTraces, span, startCollector, traceRequest, type RunningCollector } from './helpers.js';

let env: TestEnv;
let org: Awaited<ReturnType<typeof createTestOrg>>;
let c: RunningCollector;
let key: string;

beforeAll(async () => {
  env = await createTestEnv();
  org = await createTestOrg(env, ['dev']);
  key = org.workspaces.dev!.ingestKey.key;
  c = await startCollector(env);
});

afterAll(async () => {
  await c?.close();
  await env?.cleanup();
});

/** Value of one sample in Prometheus text, 0 when absent. */
async function sample(name: string): Promise<number> {
  const text = await (await fetch(`${c.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

describe('health, readiness and metrics', () => {
  it('answers /healthz with 200 ok', async () => {
    const res = await fetch(`${c.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
  });

  it('answers /readyz with 200 while Redis answers PING', async () => {
    expect((await fetch(`${c.url}/readyz`)).status).toBe(200);
  });

  it('counts accepted and rejected spans, bytes, requests by code and durations', async () => {
    const before = {
      accepted: await sample('canopy_collector_spans_accepted_total'),
      rejected: await sample('canopy_collector_spans_rejected_total{reason="invalid_span_id"}'),
      bytes: await sample('canopy_collector_received_bytes_total'),
      ok: await sample('canopy_collector_requests_total{code="200"}'),
      unauthorized: await sample('canopy_collector_requests_total{code="401"}'),
      durations: await sample('canopy_collector_request_duration_seconds_count'),
    };
    const body = encodeRequest(traceRequest([span(0), span(1), span(2, { spanId: '00' })]), 'json');
    expect((await postTraces(c.url, body, { key, contentType: CONTENT_TYPE.json })).status).toBe(200);
    expect((await postTraces(c.url, body, { key: 'nope', contentType: CONTENT_TYPE.json })).status).toBe(401);

    const res = await fetch(`${c.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await sample('canopy_collector_spans_accepted_total')).toBe(before.accepted + 2);
    expect(await sample('canopy_collector_spans_rejected_total{reason="invalid_span_id"}')).toBe(before.rejected + 1);
    expect(await sample('canopy_collector_received_bytes_total')).toBe(before.bytes + body.length);
    expect(await sample('canopy_collector_requests_total{code="200"}')).toBe(before.ok + 1);
    expect(await sample('canopy_collector_requests_total{code="401"}')).toBe(before.unauthorized + 1);
    expect(await sample('canopy_collector_request_errors_total{code="invalid_key"}')).toBeGreaterThanOrEqual(1);
    expect(await sample('canopy_collector_request_duration_seconds_count')).toBe(before.durations + 2);
  });

  it('keeps its metrics in its own registry, so two collectors do not clash', async () => {
    const log = createLogger({ level: 'silent', pretty: false }, 'collector');
    const fake = { queue: { add: async () => undefined }, keys: c.keys, redis: { status: 'ready', ping: async () => 'PONG' }, log };
    const a = createCollector(fake, { maxBodyBytes: 1024 });
    const b = createCollector(fake, { maxBodyBytes: 1024 });
    expect(a.metrics.registry).not.toBe(b.metrics.registry);
    await Promise.all([a.close(), b.close(), a.close()]);
  });
});

describe('shutdown', () => {
  it('finishes an in-flight export, then stops accepting connections', async () => {
    const log = createLogger({ level: 'silent', pretty: false }, 'collector');
    let added = 0;
    const slow = createCollector(
      {
        queue: { add: () => new Promise<void>((resolve) => setTimeout(() => (added++, resolve()), 300)) },
        keys: c.keys,
        redis: { status: 'ready', ping: async () => 'PONG' },
        log,
      },
      { maxBodyBytes: 1024 * 1024 },
    );
    const { port } = await slow.listen(0, '127.0.0.1');
    const url = `http://127.0.0.1:${port}`;
    const inFlight = postTraces(url, encodeRequest(traceRequest([span(0)]), 'protobuf'), { key });
    await new Promise((r) => setTimeout(r, 100));

    const closed = slow.close();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(res.headers.get('connection')).toBe('close');
    expect(added).toBe(1);
    await closed;
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
