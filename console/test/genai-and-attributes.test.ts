import { describe, expect, it } from 'vitest';
import { costPico, createPriceBook, DEFAULT_PRICES, formatUsd } from '@canopy/core';
import { genaiCost, genaiInfo, findPrice, picoToUsd } from '../src/waterfall/genai';
import { typedAttributes, typeLabel } from '../src/waterfall/attributes';

describe('genaiInfo', () => {
  it('reads model, provider and tokens under the current OTel names', () => {
    expect(
      genaiInfo({
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.response.model': 'gpt-4o-2024-08-06',
        'gen_ai.system': 'openai',
        'gen_ai.usage.input_tokens': 1200,
        'gen_ai.usage.output_tokens': 300,
        'gen_ai.usage.cache_read.input_tokens': 200,
      }),
    ).toEqual({ model: 'gpt-4o-2024-08-06', provider: 'openai', inputTokens: 1200, outputTokens: 300, cacheReadTokens: 200, cacheCreationTokens: 0, reasoningTokens: 0, totalTokens: 1500 });
  });

  it('falls back to older and vendor names, and numeric strings', () => {
    expect(genaiInfo({ 'llm.model_name': 'claude-3-5-sonnet', 'llm.token_count.prompt': '40', 'llm.token_count.completion': 2, 'llm.token_count.total': 42 })).toMatchObject({
      model: 'claude-3-5-sonnet',
      inputTokens: 40,
      outputTokens: 2,
      totalTokens: 42,
    });
  });

  it('is null for a span without token usage', () => {
    expect(genaiInfo({ 'gen_ai.request.model': 'gpt-4o', 'http.method': 'GET' })).toBeNull();
  });
});

describe('genaiCost', () => {
  const prices = DEFAULT_PRICES.map((p) => ({ ...p }));

  it('prices a call exactly as core prices usage, cache tokens included', () => {
    const info = genaiInfo({ 'gen_ai.response.model': 'gpt-4o-2024-08-06', 'gen_ai.usage.input_tokens': 1200, 'gen_ai.usage.output_tokens': 333, 'gen_ai.usage.cache_read.input_tokens': 200 })!;
    const book = createPriceBook([]);
    const p = book.lookup(info.model)!;
    expect(p).not.toBeNull();
    const expected = formatUsd(costPico({ uncachedInputTokens: 1000n, outputTokens: 333n, cacheReadTokens: 200n, cacheCreationTokens: 0n }, p));
    expect(genaiCost(info, prices)).toBe(expected);
  });

  it('matches dated model names to their base entry and says null for an unknown model', () => {
    expect(findPrice(prices, 'gpt-4o-2024-08-06')?.model.toLowerCase().startsWith('gpt-4o')).toBe(true);
    expect(genaiCost({ ...genaiInfo({ 'gen_ai.usage.input_tokens': 1 })!, model: 'no-such-model-xyz' }, prices)).toBeNull();
  });

  it('formats pico-USD exactly', () => {
    expect(picoToUsd(0n)).toBe('0.00');
    expect(picoToUsd(1n)).toBe('0.000000000001');
    expect(picoToUsd(2_500_000_000_000n)).toBe('2.50');
  });
});

describe('typedAttributes', () => {
  it('keeps the type each value was sent with', () => {
    const rows = typedAttributes({ 'http.status_code': 500, 'cart.total': 12.75, 'user.vip': true, 'http.method': 'GET', 'items.ids': [1, 2, 3], 'items.weights': [0.5, 1.25], mixed: [1, 'a'], nested: { a: 1 } });
    expect(rows.map((r) => [r.key, typeLabel(r), r.display])).toEqual([
      ['cart.total', 'double', '12.75'],
      ['http.method', 'string', 'GET'],
      ['http.status_code', 'int', '500'],
      ['items.ids', 'int[]', '[1,2,3]'],
      ['items.weights', 'double[]', '[0.5,1.25]'],
      ['mixed', 'any[]', '[1,"a"]'],
      ['nested', 'map', '{"a":1}'],
      ['user.vip', 'bool', 'true'],
    ]);
  });
});
