import { describe, expect, it } from 'vitest';
import { rowWindow, scrollToRow } from '../src/waterfall/window';

describe('rowWindow', () => {
  it('renders only the rows in the viewport plus the overscan', () => {
    const w = rowWindow({ scrollTop: 2800, viewportHeight: 560, rowHeight: 28, rowCount: 5000, overscan: 5 });
    expect(w).toEqual({ start: 95, end: 126, offsetTop: 95 * 28, totalHeight: 140_000 });
    expect(w.end - w.start).toBeLessThan(40);
  });

  it('clamps at both ends of the list', () => {
    expect(rowWindow({ scrollTop: -50, viewportHeight: 280, rowHeight: 28, rowCount: 5000, overscan: 2 })).toMatchObject({ start: 0, end: 13 });
    const bottom = rowWindow({ scrollTop: 1e9, viewportHeight: 280, rowHeight: 28, rowCount: 5000, overscan: 2 });
    expect(bottom.end).toBe(5000);
    expect(bottom.start).toBe(5000 - 10 - 2);
  });

  it('handles an empty list and a list shorter than the viewport', () => {
    expect(rowWindow({ scrollTop: 0, viewportHeight: 500, rowHeight: 28, rowCount: 0 })).toEqual({ start: 0, end: 0, offsetTop: 0, totalHeight: 0 });
    expect(rowWindow({ scrollTop: 0, viewportHeight: 500, rowHeight: 28, rowCount: 3 })).toMatchObject({ start: 0, end: 3 });
  });
});

describe('scrollToRow', () => {
  it('scrolls just enough to show a row above or below the viewport, and not at all when it is visible', () => {
    expect(scrollToRow({ index: 10, rowHeight: 28, scrollTop: 0, viewportHeight: 280 })).toBe(28);
    expect(scrollToRow({ index: 2, rowHeight: 28, scrollTop: 280, viewportHeight: 280 })).toBe(56);
    expect(scrollToRow({ index: 5, rowHeight: 28, scrollTop: 0, viewportHeight: 280 })).toBe(0);
  });
});
