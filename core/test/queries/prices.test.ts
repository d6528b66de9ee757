import { describe, expect, it } from 'vitest';
import { costPico, createPriceBook, formatPrice, formatUsd, parsePrice, type PriceEntry } from '../../src/index.js';

const entry = (model: string, input: string, output = '0'): PriceEntry => ({ model, inputPerMillion: input, outputPerMillion: output, cacheReadPerMillion: null, cacheCreationPerMillion: null });

describe('money', () => {
  it('parses and prints prices as exact micro-USD per million tokens', () => {
    expect(parsePrice('2.5')).toBe(2_500_000n);
    expect(parsePrice('0.000001')).toBe(1n);
    expect(parsePrice('123456789012.123456')).toBe(123_456_789_012_123_456n);
    expect(formatPrice(2_500_000n)).toBe('2.50');
    expect(formatPrice(75_000n)).toBe('0.075');
    for (const bad of ['1e-3', '-1', '.5', '1.', '0.0000001', ' 1', 'NaN']) expect(() => parsePrice(bad), bad).toThrow(TypeError);
  });

  it('computes cost in pico-USD without rounding and prints it exactly', () => {
    const price = { model: 'm', inputMicros: parsePrice('2.50'), outputMicros: parsePrice('10'), cacheReadMicros: parsePrice('1.25'), cacheCreationMicros: null };
    const pico = costPico({ uncachedInputTokens: 600n, outputTokens: 200n, cacheReadTokens: 400n, cacheCreationTokens: 7n }, price);
    // 600×2.5 + 200×10 + 400×1.25 + 7×2.5 (creation billed like input) = 4017.5 µUSD·M → $0.0040175
    expect(formatUsd(pico)).toBe('0.0040175');
    expect(formatUsd(1n)).toBe('0.000000000001');
    expect(formatUsd(0n)).toBe('0.00');
    expect(formatUsd(12_500_000_000_000n)).toBe('12.50');
  });
});

describe('price book', () => {
  const book = createPriceBook([entry('gpt-4o', '1'), entry('my-model', '9')], [entry('gpt-4o', '2.5'), entry('gpt-4o-mini', '0.15'), entry('claude-3-5-sonnet', '3')]);
  const input = (model: string): string | null => {
    const p = book.lookup(model);
    return p ? formatPrice(p.inputMicros) : null;
  };

  it('matches exactly, then by the longest prefix at a name boundary', () => {
    expect(input('gpt-4o')).toBe('1.00');
    expect(input('gpt-4o-2024-08-06')).toBe('1.00');
    expect(input('gpt-4o-mini')).toBe('0.15');
    expect(input('gpt-4o-mini-2024-07-18')).toBe('0.15');
    expect(input('GPT-4o')).toBe('1.00');
    expect(input('gpt-4oo')).toBeNull();
    expect(input('unknown')).toBeNull();
  });

  it('prefers the organization entry on a tie and ignores vendor prefixes', () => {
    expect(input('openai/gpt-4o')).toBe('1.00');
    expect(input('anthropic.claude-3-5-sonnet-20240620-v1:0')).toBe('3.00');
    expect(input('us.anthropic.claude-3-5-sonnet-20240620-v1:0')).toBe('3.00');
    expect(input('my-model')).toBe('9.00');
  });
});
