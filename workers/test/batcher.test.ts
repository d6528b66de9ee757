import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createBatcher, type BatcherOptions, type FlushReason } from '../src/index.js';

interface Item {
  id: string;
  rows: number;
  bytes?: number;
}

function setup(overrides: Partial<BatcherOptions<Item, string>> = {}) {
  const flushes: Array<{ ids: string[]; reason: FlushReason }> = [];
  const batcher = createBatcher<Item, string>({
    maxRows: 100,
    maxBytes: 10_000,
    maxWaitMs: 250,
    maxItems: 10,
    measure: (i) => ({ rows: i.rows, bytes: i.bytes ?? 0 }),
    flush: async (items, reason) => {
      flushes.push({ ids: items.map((i) => i.id), reason });
      return items.map((i) => `done:${i.id}`);
    },
    ...overrides,
  });
  return { batcher, flushes };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('batcher', () => {
  it('waits up to maxWaitMs after the first item, then writes every pending item in one flush', async () => {
    const { batcher, flushes } = setup();
    const a = batcher.submit({ id: 'a', rows: 1 });
    await vi.advanceTimersByTimeAsync(200);
    const b = batcher.submit({ id: 'b', rows: 1 });
    expect(flushes).toEqual([]);
    await vi.advanceTimersByTimeAsync(50);
    expect(flushes).toEqual([{ ids: ['a', 'b'], reason: 'wait' }]);
    expect(await Promise.all([a, b])).toEqual(['done:a', 'done:b']);
  });

  it('flushes at once when the pending rows reach maxRows', async () => {
    const { batcher, flushes } = setup();
    const results = [batcher.submit({ id: 'a', rows: 60 }), batcher.submit({ id: 'b', rows: 40 })];
    expect(flushes).toEqual([{ ids: ['a', 'b'], reason: 'rows' }]);
    await Promise.all(results);
  });

  it('flushes the pending items first when the next one would push the insert past maxRows', async () => {
    const { batcher, flushes } = setup();
    const a = batcher.submit({ id: 'a', rows: 60 });
    const b = batcher.submit({ id: 'b', rows: 60 });
    expect(flushes).toEqual([{ ids: ['a'], reason: 'rows' }]);
    await vi.advanceTimersByTimeAsync(250);
    expect(flushes[1]).toEqual({ ids: ['b'], reason: 'wait' });
    await Promise.all([a, b]);
  });

  it('flushes at once when the pending bytes reach maxBytes', async () => {
    const { batcher, flushes } = setup();
    const r = batcher.submit({ id: 'big', rows: 1, bytes: 20_000 });
    expect(flushes).toEqual([{ ids: ['big'], reason: 'bytes' }]);
    await r;
  });

  it('flushes at once when as many items are pending as the worker can hold', async () => {
    const { batcher, flushes } = setup({ maxItems: 3 });
    const results = ['a', 'b', 'c'].map((id) => batcher.submit({ id, rows: 1 }));
    expect(flushes).toEqual([{ ids: ['a', 'b', 'c'], reason: 'jobs' }]);
    await Promise.all(results);
  });

  it('resolves each caller only when its own flush has ended', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { batcher } = setup({
      maxItems: 1,
      flush: async (items) => {
        await gate;
        return items.map((i) => i.id);
      },
    });
    let settled = false;
    const r = batcher.submit({ id: 'a', rows: 1 }).then((v) => ((settled = true), v));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(settled).toBe(false);
    release();
    expect(await r).toBe('a');
  });

  it('rejects every item of a flush that throws', async () => {
    const { batcher } = setup({
      maxItems: 2,
      flush: async () => {
        throw new Error('boom');
      },
    });
    const results = await Promise.allSettled([batcher.submit({ id: 'a', rows: 1 }), batcher.submit({ id: 'b', rows: 1 })]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('close flushes what is pending, flushes later items at once, and is safe to call twice', async () => {
    const { batcher, flushes } = setup();
    const a = batcher.submit({ id: 'a', rows: 1 });
    await batcher.close();
    expect(flushes).toEqual([{ ids: ['a'], reason: 'close' }]);
    const b = batcher.submit({ id: 'b', rows: 1 });
    expect(flushes[1]).toEqual({ ids: ['b'], reason: 'close' });
    await batcher.close();
    expect(await Promise.all([a, b])).toEqual(['done:a', 'done:b']);
    expect(batcher.pendingItems).toBe(0);
  });
});
