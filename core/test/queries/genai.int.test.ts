import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPriceBook,
  genaiQuerySchema,
  genaiSummary,
  genaiSummarySchema,
  getPriceList,
  loadPriceBook,
  setOrgPrices,
  timeseries,
  timeseriesQuerySchema,
  type GenAiSummary,
  type PriceBook,
} from '../../src/index.js';
import { createTestEnv, createTestOrg, type TestEnv } from '../../src/testing/index.js';
import { BASE_MS, insertSpans, newSpanId, newTraceId, scopeOf, usdToPico, type AttrValue, type SpanSpec } from './helpers.js';

let env: TestEnv;
let orgId: string;
let ws: string;
let otherWs: string;
const defaults = createPriceBook([]);

const at = (s: number): number => BASE_MS + s * 1_000;
const llm = (attrs: Record<string, AttrValue>, extra: Partial<SpanSpec> = {}): SpanSpec => ({
  traceId: newTraceId(),
  spanId: newSpanId(),
  name: 'chat',
  service: 'agent',
  startMs: at(1),
  durationMs: 800,
  attrs,
  ...extra,
});

async function summary(query: Record<string, string> = {}, prices: PriceBook = defaults, workspace = ws): Promise<GenAiSummary> {
  const input = genaiQuerySchema.parse({ from: String(BASE_MS), to: String(BASE_MS + 3_600_000), ...query });
  const r = await genaiSummary({ clickhouse: env.clickhouse, prices }, scopeOf(orgId, workspace), input);
  expect(genaiSummarySchema.parse(r)).toEqual(r);
  return r;
}
const row = (s: GenAiSummary, model: string): GenAiSummary['rows'][number] | undefined => s.rows.find((r) => r.model === model);

beforeAll(async () => {
  env = await createTestEnv();
  const org = await createTestOrg(env, ['a', 'b']);
  orgId = org.orgId;
  ws = org.workspaces.a!.id;
  otherWs = org.workspaces.b!.id;

  // Vercel AI SDK: ai.generateText wraps ai.generateText.doGenerate and repeats its usage
  const vTrace = newTraceId();
  const vParent = newSpanId();
  // an agent span summing two model calls
  const aTrace = newTraceId();
  const aParent = newSpanId();
  // a wrapper whose child arrives in a later insert
  const lTrace = newTraceId();
  const lParent = newSpanId();

  await insertSpans(env, { orgId, workspaceId: ws }, [
    // current OTel names, with cache and reasoning tokens
    llm({
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.response.model': 'gpt-4o-2024-08-06',
      'gen_ai.usage.input_tokens': 1000,
      'gen_ai.usage.output_tokens': 200,
      'gen_ai.usage.cache_read.input_tokens': 400,
      'gen_ai.usage.reasoning.output_tokens': 50,
    }),
    // older OTel names
    llm({ 'gen_ai.system': 'anthropic', 'gen_ai.request.model': 'claude-3-5-sonnet-20241022', 'gen_ai.usage.prompt_tokens': 2000, 'gen_ai.usage.completion_tokens': 100,
      'gen_ai.usage.cache_creation.input_tokens': 1000 }),
    // OpenInference
    llm({ 'llm.provider': 'openai', 'llm.model_name': 'gpt-4o-mini', 'llm.token_count.prompt': 10000, 'llm.token_count.completion': 1000, 'llm.token_count.total': 11000,
      'llm.token_count.prompt_details.cache_read': 5000 }, { service: 'rag' }),
    // Vercel AI SDK, v4 names: counted once
    { traceId: vTrace, spanId: vParent, name: 'ai.generateText', service: 'web', startMs: at(2), durationMs: 900,
      attrs: { 'ai.model.id': 'gpt-4o-mini', 'ai.model.provider': 'openai.chat', 'ai.usage.promptTokens': 300, 'ai.usage.completionTokens': 30 } },
    { traceId: vTrace, spanId: newSpanId(), parentSpanId: vParent, name: 'ai.generateText.doGenerate', service: 'web', startMs: at(2) + 10, durationMs: 850,
      attrs: { 'ai.model.id': 'gpt-4o-mini', 'ai.usage.promptTokens': 300, 'ai.usage.completionTokens': 30, 'gen_ai.system': 'openai.chat', 'gen_ai.request.model': 'gpt-4o-mini',
        'gen_ai.usage.input_tokens': 300, 'gen_ai.usage.output_tokens': 30 } },
    // Vercel AI SDK, v5 names, token counts sent as strings
    llm({ 'ai.model.id': 'o3-mini', 'ai.model.provider': 'openai.responses', 'ai.usage.inputTokens': '50', 'ai.usage.outputTokens': '5', 'ai.usage.reasoningTokens': 2,
      'ai.usage.cachedInputTokens': 10 }, { service: 'web' }),
    // an agent span that sums its two calls
    { traceId: aTrace, spanId: aParent, name: 'invoke_agent', service: 'agent', startMs: at(3), durationMs: 2_000,
      attrs: { 'gen_ai.request.model': 'claude-3-haiku', 'gen_ai.usage.input_tokens': 700, 'gen_ai.usage.output_tokens': 70 } },
    { traceId: aTrace, spanId: newSpanId(), parentSpanId: aParent, name: 'chat', service: 'agent', startMs: at(3) + 1, durationMs: 500,
      attrs: { 'gen_ai.request.model': 'claude-3-haiku', 'gen_ai.usage.input_tokens': 300, 'gen_ai.usage.output_tokens': 30 } },
    { traceId: aTrace, spanId: newSpanId(), parentSpanId: aParent, name: 'chat', service: 'agent', startMs: at(3) + 600, durationMs: 500, status: 'error',
      attrs: { 'gen_ai.request.model': 'claude-3-haiku', 'gen_ai.usage.input_tokens': 400, 'gen_ai.usage.output_tokens': 40 } },
    // a model without a price
    llm({ 'gen_ai.request.model': 'acme-finetune-7', 'gen_ai.usage.input_tokens': 5, 'gen_ai.usage.output_tokens': 5 }),
    // not a GenAI call: a model but no usage
    llm({ 'gen_ai.request.model': 'gpt-4o' }),
    // the wrapper, whose child comes later
    { traceId: lTrace, spanId: lParent, name: 'workflow', service: 'late', startMs: at(4), durationMs: 100,
      attrs: { 'llm.model_name': 'gemini-2.0-flash', 'llm.token_count.prompt': 100, 'llm.token_count.completion': 10 } },
  ]);
  await insertSpans(env, { orgId, workspaceId: ws }, [
    { traceId: lTrace, spanId: newSpanId(), parentSpanId: lParent, name: 'generate', service: 'late', startMs: at(4) + 1, durationMs: 90,
      attrs: { 'llm.model_name': 'gemini-2.0-flash', 'llm.token_count.prompt': 100, 'llm.token_count.completion': 10 } },
  ]);
  await insertSpans(env, { orgId, workspaceId: otherWs }, [llm({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 1, 'gen_ai.usage.output_tokens': 1 })]);
});
afterAll(() => env?.cleanup());

describe('GenAI usage extraction', () => {
  it('reads the current OTel names, with cache read and reasoning tokens, and prices cached input apart', async () => {
    const s = await summary({ model: 'gpt-4o-2024-08-06', groupBy: 'model,provider' });
    expect(s.rows).toEqual([
      { model: 'gpt-4o-2024-08-06', provider: 'openai', calls: 1, inputTokens: 1000, outputTokens: 200, cacheReadTokens: 400, cacheCreationTokens: 0, reasoningTokens: 50,
        totalTokens: 1200, unpricedCalls: 0, costUsd: '0.004' },
    ]);
  });

  it('reads the older OTel names (prompt/completion tokens, gen_ai.system)', async () => {
    const r = row(await summary({ groupBy: 'model,provider' }), 'claude-3-5-sonnet-20241022')!;
    // 1000 uncached × $3 + 1000 cache creation × $3.75 + 100 output × $15 per million
    expect(r).toMatchObject({ provider: 'anthropic', calls: 1, inputTokens: 2000, outputTokens: 100, cacheCreationTokens: 1000, costUsd: '0.00825' });
  });

  it('reads OpenInference llm.token_count.* and llm.model_name', async () => {
    const r = row(await summary({ groupBy: 'model' }), 'gpt-4o-mini');
    // OpenInference 10000/1000 (5000 cached) plus the Vercel call 300/30, both gpt-4o-mini
    expect(r).toMatchObject({ calls: 2, inputTokens: 10300, outputTokens: 1030, cacheReadTokens: 5000, totalTokens: 11330 });
    const bySource = await summary({ model: 'gpt-4o-mini', groupBy: 'provider' });
    expect(bySource.rows.map((x) => [x.provider, x.calls, x.inputTokens]).sort()).toEqual([
      ['openai', 1, 10000],
      ['openai.chat', 1, 300],
    ]);
  });

  it('reads the Vercel AI SDK names, as numbers or numeric strings', async () => {
    const r = row(await summary(), 'o3-mini')!;
    expect(r).toMatchObject({ calls: 1, inputTokens: 50, outputTokens: 5, cacheReadTokens: 10, reasoningTokens: 2 });
    // 40 × $1.10 + 10 × $0.55 + 5 × $4.40 per million
    expect(r.costUsd).toBe('0.0000715');
  });

  it('counts a call once when a wrapper span repeats its child’s usage', async () => {
    const s = await summary({ service: 'web' });
    const mini = row(s, 'gpt-4o-mini')!;
    expect(mini).toMatchObject({ calls: 1, inputTokens: 300, outputTokens: 30 });
    const agent = row(await summary({ service: 'agent' }), 'claude-3-haiku')!;
    expect(agent).toMatchObject({ calls: 2, inputTokens: 700, outputTokens: 70 });
  });

  it('recognises the wrapper when its child arrived in a later insert', async () => {
    expect(row(await summary({ service: 'late' }), 'gemini-2.0-flash')).toMatchObject({ calls: 1, inputTokens: 100, outputTokens: 10 });
  });

  it('reports the excluded wrappers and calls of unpriced models', async () => {
    const s = await summary();
    expect(s.wrapperSpansExcluded).toBe(3);
    expect(row(s, 'acme-finetune-7')).toMatchObject({ calls: 1, costUsd: '0.00', unpricedCalls: 1 });
    expect(s.totals.unpricedCalls).toBe(1);
    expect(s.totals.calls).toBe(9);
    expect(s.rows.map((r) => r.model)).not.toContain('');
  });

  it('totals are the exact sum of the rows', async () => {
    const s = await summary({ groupBy: 'service' });
    const sum = (k: 'calls' | 'inputTokens' | 'outputTokens'): number => s.rows.reduce((a, r) => a + r[k], 0);
    expect([sum('calls'), sum('inputTokens'), sum('outputTokens')]).toEqual([s.totals.calls, s.totals.inputTokens, s.totals.outputTokens]);
    expect(s.rows.reduce((a, r) => a + usdToPico(r.costUsd), 0n)).toBe(usdToPico(s.totals.costUsd));
    expect(usdToPico(s.totals.costUsd)).toBeGreaterThan(0n);
  });

  it("keeps to the scope's workspace", async () => {
    const other = await summary({}, defaults, otherWs);
    expect(other.rows.map((r) => [r.model, r.calls])).toEqual([['gpt-4o', 1]]);
  });
});

describe('GenAI cost with organization prices', () => {
  it('lists built-in prices and applies an org override to dated model names', async () => {
    const before = await getPriceList(env.pool, orgId);
    expect(before.prices.find((p) => p.model === 'gpt-4o')).toMatchObject({ inputPerMillion: '2.50', outputPerMillion: '10.00', source: 'default' });
    const after = await setOrgPrices(env.pool, { type: 'system', id: 'test' }, {
      orgId,
      prices: [{ model: 'gpt-4o', inputPerMillion: '1', outputPerMillion: '2', cacheReadPerMillion: '0.000001' }, { model: 'acme-finetune-7', inputPerMillion: '1000', outputPerMillion: '1000' }],
    });
    expect(after.prices.find((p) => p.model === 'gpt-4o')).toEqual({
      model: 'gpt-4o', inputPerMillion: '1.00', outputPerMillion: '2.00', cacheReadPerMillion: '0.000001', cacheCreationPerMillion: null, source: 'org',
    });
    const book = await loadPriceBook(env.pool, orgId);
    // the change made version 2 (version 1: the built-in prices it replaced)
    expect([before.version, after.version, book.version]).toEqual([1, 2, 2]);
    const s = await summary({}, book);
    // 600 × $1 + 400 × $0.000001 + 200 × $2 per million
    expect(row(s, 'gpt-4o-2024-08-06')!.costUsd).toBe('0.0010000004');
    expect(row(s, 'acme-finetune-7')).toMatchObject({ costUsd: '0.01', unpricedCalls: 0 });
    await setOrgPrices(env.pool, { type: 'system', id: 'test' }, { orgId, prices: [] });
    const back = await getPriceList(env.pool, orgId);
    expect(back.prices.every((p) => p.source === 'default')).toBe(true);
    expect(back.version).toBe(3);
    // back to the built-in prices: the same cost as with version 1
    expect(row(await summary({}, await loadPriceBook(env.pool, orgId)), 'gpt-4o-2024-08-06')!.costUsd).toBe('0.004');
  });

  it('refuses prices that are not exact decimals', async () => {
    await expect(setOrgPrices(env.pool, { type: 'system', id: 'test' }, { orgId, prices: [{ model: 'x', inputPerMillion: '1e-3', outputPerMillion: '1' }] })).rejects.toMatchObject({
      code: 'invalid',
      field: 'prices.0.inputPerMillion',
    });
  });
});

describe('GenAI time series', () => {
  it('gives tokens, cost, count and latency per model over time', async () => {
    const input = timeseriesQuerySchema.parse({
      from: String(BASE_MS), to: String(BASE_MS + 600_000), bucket: '5m', groupBy: 'model', metric: 'count,errors,p50Ms,inputTokens,outputTokens,costUsd,calls',
    });
    const r = await timeseries({ clickhouse: env.clickhouse, prices: defaults }, scopeOf(orgId, ws), input);
    const haiku = r.series.find((s) => s.group === 'claude-3-haiku')!;
    expect(haiku.points[0]).toEqual({
      time: new Date(BASE_MS).toISOString(), count: 2, errors: 1, p50Ms: 500, calls: 2, inputTokens: 700, outputTokens: 70, costUsd: '0.0002625',
    });
    expect(haiku.points[1]).toMatchObject({ count: 0, calls: 0, inputTokens: 0, costUsd: '0.00', p50Ms: null });
    // largest first (by calls), ties by name
    expect(r.series.slice(0, 2).map((x) => x.group)).toEqual(['claude-3-haiku', 'gpt-4o-mini']);
  });

  it('adds token metrics to span series grouped by service', async () => {
    const input = timeseriesQuerySchema.parse({ from: String(BASE_MS), to: String(BASE_MS + 300_000), bucket: '5m', groupBy: 'service', metric: 'count,inputTokens' });
    const r = await timeseries({ clickhouse: env.clickhouse, prices: defaults }, scopeOf(orgId, ws), input);
    expect(Object.fromEntries(r.series.map((s) => [s.group, [s.points[0]!.count, s.points[0]!.inputTokens]]))).toEqual({
      agent: [7, 700 + 1000 + 2000 + 5],
      web: [3, 350],
      rag: [1, 10000],
      late: [2, 100],
    });
  });
});
