/**
 * Row virtualization for the waterfall: only the rows in (or near) the viewport are
 * rendered, so a 5,000-span trace keeps a few dozen DOM rows. Pure.
 */
export interface WindowInput {
  scrollTop: number;
  viewportHeight: number;
  rowHeight: number;
  rowCount: number;
  /** rows rendered beyond each edge of the viewport */
  overscan?: number;
}

export interface RowWindow {
  /** first rendered row */
  start: number;
  /** one past the last rendered row */
  end: number;
  /** px from the top of the list to the first rendered row */
  offsetTop: number;
  /** px height of the whole list */
  totalHeight: number;
}

export function rowWindow(input: WindowInput): RowWindow {
  const { rowHeight, rowCount } = input;
  const overscan = input.overscan ?? 8;
  const totalHeight = rowCount * rowHeight;
  if (rowCount === 0 || rowHeight <= 0) return { start: 0, end: 0, offsetTop: 0, totalHeight: 0 };
  const maxScroll = Math.max(0, totalHeight - input.viewportHeight);
  const top = Math.min(Math.max(0, input.scrollTop), maxScroll);
  const first = Math.floor(top / rowHeight);
  const visibleCount = Math.ceil(Math.max(input.viewportHeight, rowHeight) / rowHeight) + 1;
  const start = Math.max(0, first - overscan);
  const end = Math.min(rowCount, first + visibleCount + overscan);
  return { start, end, offsetTop: start * rowHeight, totalHeight };
}

/** The scrollTop that brings row `index` into view (unchanged when it already is). */
export function scrollToRow(input: { index: number; rowHeight: number; scrollTop: number; viewportHeight: number }): number {
  const top = input.index * input.rowHeight;
  const bottom = top + input.rowHeight;
  if (top < input.scrollTop) return top;
  if (bottom > input.scrollTop + input.viewportHeight) return Math.max(0, bottom - input.viewportHeight);
  return input.scrollTop;
}
