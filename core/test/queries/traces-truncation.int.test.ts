import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTrace, traceDetailSchema } from '../../src/index.js';
import { createTestEnv, createTestOrg, type TestEnv } from '../../src/testing/index.js';
import { BASE_MS, insertSpans, newSpanId, newTraceId, scopeOf } from './helpers.js';

// Spans written as the pipeline writes them (normalize with the default 128 KiB value limit,
// one JSONEachRow insert), read back through the trace detail.
const LIMIT = 128 * 1024;

let env: TestEnv;
let orgId: string;
let ws: string;
const traceId = newTraceId();
const cutSpan = newSpanId();
const wholeSpan = newSpanId();

beforeAll(async () => {
  env = await createTestEnv();
  const org = await createTestOrg(env, ['a']);
  orgId = org.orgId;
  ws = org.workspaces.a!.id;
  await insertSpans(env, { orgId, workspaceId: ws }, [
    {
      traceId, spanId: cutSpan, name: `chat ${'n'.repeat(LIMIT)}`, service: 'bot', startMs: BASE_MS, durationMs: 10,
      status: 'error', statusMessage: 'm'.repeat(LIMIT + 1),
      attrs: { 'gen_ai.prompt': '€'.repeat(50_000), 'gen_ai.model': 'gpt-4o', ...Object.fromEntries(Array.from({ length: 130 }, (_, i) => [`extra.${i}`, i])) },
      resource: { 'host.name': 'h'.repeat(LIMIT + 5) },
      scope: { name: 'lib', attributes: { 'lib.blob': 's'.repeat(LIMIT + 7) } },
      events: [{ timeUnixNano: String(BigInt(BASE_MS + 1) * 1_000_000n), name: 'exception', attributes: [{ key: 'exception.stacktrace', value: { stringValue: 'at '.repeat(50_000) } }] }],
    },
    { traceId, spanId: wholeSpan, parentSpanId: cutSpan, name: 'retrieve', service: 'bot', startMs: BASE_MS + 1, durationMs: 5, resource: { 'host.name': 'h1' } },
  ]);
});
afterAll(() => env?.cleanup());

describe('a span cut by the ingest limits, read back', () => {
  it('names every cut field with its size as sent, and its dropped attributes', async () => {
    const trace = (await getTrace(env.clickhouse, scopeOf(orgId, ws), traceId))!;
    expect(traceDetailSchema.parse(trace)).toEqual(trace);
    const span = trace.spans.find((s) => s.spanId === cutSpan)!;
    expect(span.truncatedFields).toEqual([
      { field: 'resource.host.name', originalBytes: LIMIT + 5 },
      { field: 'scope.attributes.lib.blob', originalBytes: LIMIT + 7 },
      { field: 'name', originalBytes: LIMIT + 5 },
      { field: 'status.message', originalBytes: LIMIT + 1 },
      { field: 'attributes.gen_ai.prompt', originalBytes: 150_000 },
      { field: 'events.0.attributes.exception.stacktrace', originalBytes: 150_000 },
    ]);
    // the stored text itself still ends in the marker, at most the limit before it
    expect(span.attributes['gen_ai.prompt']).toMatch(/^€+…\[truncated \d+ bytes\]$/);
    expect(Buffer.byteLength((span.attributes['gen_ai.prompt'] as string).replace(/….*$/, ''))).toBeLessThanOrEqual(LIMIT);
    // 132 attributes sent, 128 kept
    expect(Object.keys(span.attributes)).toHaveLength(128);
    expect(span.droppedAttributesCount).toBe(4);
  });

  it('gives a span nothing was cut from an empty list', async () => {
    const trace = (await getTrace(env.clickhouse, scopeOf(orgId, ws), traceId))!;
    expect(trace.spans.find((s) => s.spanId === wholeSpan)!.truncatedFields).toEqual([]);
  });
});
