import { describe, expect, it } from 'vitest';
import { byCell, type GenAiCell, type StoredCost, type TokenCounts } from '@canopy/core';
import { planPricing, pricingWindow } from '../src/index.js';

const counts = (calls: number, input = calls * 10): TokenCounts => ({
  calls: BigInt(calls),
  inputTokens: BigInt(input),
  outputTokens: 1n,
  cacheReadTokens: 0n,
  cacheCreationTokens: 0n,
  reasoningTokens: 0n,
  uncachedInputTokens: BigInt(input),
});
const cell = (day: string, model: string, c: TokenCounts): GenAiCell => ({ workspaceId: 'ws_a', day, model, service: null, counts: c, totalTokens: 0n, spans: c.calls, bytes: 0n });
const storedCost = (day: string, model: string, c: TokenCounts): StoredCost => ({
  workspaceId: 'ws_a', day, model, counts: c, costPico: 1n, priceEntry: model, priceVersion: 1, pricedAt: new Date(),
});

describe('pricing window', () => {
  it('ends with the last day that ended at least the settling time ago', () => {
    const options = { lookbackDays: 3, settleMs: 3_600_000 };
    expect(pricingWindow(new Date('2026-11-20T00:59:59Z'), options)).toEqual({ fromDay: '2026-11-16', toDay: '2026-11-18' });
    expect(pricingWindow(new Date('2026-11-20T01:00:00Z'), options)).toEqual({ fromDay: '2026-11-17', toDay: '2026-11-19' });
    expect(pricingWindow(new Date('2026-03-01T12:00:00Z'), { lookbackDays: 1, settleMs: 0 })).toEqual({ fromDay: '2026-02-28', toDay: '2026-02-28' });
  });
});

describe('pricing plan', () => {
  it('prices days never priced and catches up priced days whose calls changed, appeared or went', () => {
    const cells = byCell([
      cell('2026-11-01', 'gpt-4o', counts(2)), // never priced
      cell('2026-11-02', 'gpt-4o', counts(2)), // priced, unchanged
      cell('2026-11-03', 'gpt-4o', counts(3)), // priced with 2 calls: one arrived late
      cell('2026-11-04', 'o3', counts(1)), // priced day, a model that was not there
      cell('2026-11-05', 'gpt-4o', counts(0)), // no counted calls: nothing to price
    ]);
    const stored = [
      storedCost('2026-11-02', 'gpt-4o', counts(2)),
      storedCost('2026-11-03', 'gpt-4o', counts(2)),
      storedCost('2026-11-06', 'gpt-4o', counts(1)), // its call is no longer counted
    ];
    const pricedDays = new Map(['2026-11-02', '2026-11-03', '2026-11-04', '2026-11-06'].map((d) => [d, 1]));
    expect(planPricing({ cells, stored, pricedDays })).toEqual({ price: ['2026-11-01'], catchUp: ['2026-11-03', '2026-11-04', '2026-11-06'] });
  });

  it('sees a change in any token count, not only in calls', () => {
    const cells = byCell([cell('2026-11-02', 'gpt-4o', counts(2, 21))]);
    const stored = [storedCost('2026-11-02', 'gpt-4o', counts(2, 20))];
    expect(planPricing({ cells, stored, pricedDays: new Map([['2026-11-02', 1]]) }).catchUp).toEqual(['2026-11-02']);
  });
});
