import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPriceBook,
  genaiQuerySchema,
  genaiSummary,
  getTrace,
  searchTraces,
  timeseries,
  timeseriesQuerySchema,
  traceSearchQuerySchema,
  type TraceSearchResult,
} from '../../src/index.js';
import { createTestEnv, createTestOrg, type TestEnv } from '../../src/testing/index.js';
import { BASE_MS, insertSpans, newSpanId, newTraceId, scopeOf } from './helpers.js';

/**
 * Text from spans and from query strings reaches SQL as literals in IN lists, lambdas
 * over the attribute arrays, substring search and GROUP BY keys. Each hostile string is
 * stored as a service, span name, attribute key and value and model, and must come back
 * as exactly itself and match only itself.
 */
const HOSTILE = [
  "'",
  "\\'; DROP TABLE spans; --",
  '\\',
  '\0nul',
  '{}',
  '{x:String}',
  '{{ts}}',
  '$1 ? :p @p',
  '%_%',
  '"double" `back`',
  'line\nbreak\r\ttab',
  'ünïcödé ✓ 你好 🚀',
  '\u2028\u2029',
  '/* c */ --',
];

let env: TestEnv;
let orgId: string;
let ws: string;
const traceOf = new Map<string, string>();

beforeAll(async () => {
  env = await createTestEnv();
  const org = await createTestOrg(env, ['h']);
  orgId = org.orgId;
  ws = org.workspaces.h!.id;
  await insertSpans(
    env,
    { orgId, workspaceId: ws },
    HOSTILE.map((v, i) => {
      const traceId = newTraceId();
      traceOf.set(v, traceId);
      return {
        traceId,
        spanId: newSpanId(),
        name: `n${v}`,
        service: `s${v}`,
        startMs: BASE_MS + i * 1_000,
        durationMs: 1,
        attrs: { [`k${v}`]: `v${v}`, 'gen_ai.request.model': `m${v}`, 'gen_ai.usage.input_tokens': i + 1, 'gen_ai.usage.output_tokens': 1 },
        resource: { [`r${v}`]: v },
      };
    }),
  );
});
afterAll(() => env?.cleanup());

async function find(query: Record<string, string>): Promise<TraceSearchResult> {
  return searchTraces(env.clickhouse, scopeOf(orgId, ws), traceSearchQuerySchema.parse({ from: String(BASE_MS), to: String(BASE_MS + 60_000), ...query }));
}

describe('hostile strings through the query layer', () => {
  for (const v of HOSTILE) {
    it(`treats ${JSON.stringify(v)} as data in every filter`, async () => {
      const id = traceOf.get(v)!;
      const only = [id];
      expect((await find({ service: `s${v}` })).traces.map((t) => t.traceId)).toEqual(only);
      expect((await find({ name: `n${v}` })).traces.map((t) => t.traceId)).toEqual(only);
      expect((await find({ [`attr.k${v}`]: `v${v}` })).traces.map((t) => t.traceId)).toEqual(only);
      expect((await find({ attrExists: `k${v}` })).traces.map((t) => t.traceId)).toEqual(only);
      expect((await find({ [`resource.r${v}`]: v })).traces.map((t) => t.traceId)).toEqual(only);
      // substring search finds the trace itself (and perhaps others containing the text), never errors
      expect((await find({ q: `n${v}` })).traces.map((t) => t.traceId)).toContain(id);
      const summary = (await find({ service: `s${v}` })).traces[0]!;
      expect([summary.rootServiceName, summary.rootSpanName, summary.services]).toEqual([`s${v}`, `n${v}`, [`s${v}`]]);
      const detail = (await getTrace(env.clickhouse, scopeOf(orgId, ws), id))!;
      expect(detail.spans[0]!.attributes[`k${v}`]).toBe(`v${v}`);
      expect(detail.spans[0]!.resource[`r${v}`]).toBe(v);
    });
  }

  it('substring search with pattern characters matches them literally', async () => {
    expect((await find({ q: '%_%' })).traces.map((t) => t.traceId)).toEqual([traceOf.get('%_%')]);
    expect((await find({ q: '{X:string}' })).traces.map((t) => t.traceId)).toEqual([traceOf.get('{x:String}')]);
  });

  it('returns hostile group keys and model names unchanged', async () => {
    const input = timeseriesQuerySchema.parse({ from: String(BASE_MS), to: String(BASE_MS + 60_000), bucket: '1m', groupBy: 'service', metric: 'count', limit: '50' });
    const r = await timeseries({ clickhouse: env.clickhouse, prices: createPriceBook([]) }, scopeOf(orgId, ws), input);
    expect(r.series.map((s) => s.group).sort()).toEqual(HOSTILE.map((v) => `s${v}`).sort());
    const g = await genaiSummary(
      { clickhouse: env.clickhouse, prices: createPriceBook([]) },
      scopeOf(orgId, ws),
      genaiQuerySchema.parse({ from: String(BASE_MS), to: String(BASE_MS + 60_000), model: HOSTILE.map((v) => `m${v}`) }),
    );
    expect(g.rows.map((x) => [x.model, x.inputTokens]).sort()).toEqual(HOSTILE.map((v, i) => [`m${v}`, i + 1]).sort());
  });
});
