import { describe, expect, it } from 'vitest';
import { ancestorsOf, barGeometry, buildWaterfall, parentsOf, timeTicks, visibleNodes, type LayoutSpan } from '../src/waterfall/layout';

const BASE = 1_767_000_000_000_000_000n;

/** A span `at` ms after BASE lasting `dur` ms. */
function span(id: string, parent: string, t: { at: number; dur: number; service?: string; error?: boolean }): LayoutSpan {
  const start = BASE + BigInt(Math.round(t.at * 1e6));
  return {
    spanId: id,
    parentSpanId: parent,
    startTimeUnixNano: start.toString(),
    endTimeUnixNano: (start + BigInt(Math.round(t.dur * 1e6))).toString(),
    serviceName: t.service ?? 'api',
    status: { code: t.error ? 'error' : 'unset' },
  };
}

const order = (spans: LayoutSpan[]): string[] => buildWaterfall(spans).nodes.map((n) => `${'  '.repeat(n.depth)}${n.span.spanId}`);

describe('buildWaterfall', () => {
  it('puts each parent before its children, children by start time, whatever order the spans arrive in', () => {
    const spans = [span('c2', 'root', { at: 30, dur: 5 }), span('g1', 'c1', { at: 12, dur: 2 }), span('root', '', { at: 0, dur: 50 }), span('c1', 'root', { at: 10, dur: 10 })];
    expect(order(spans)).toEqual(['root', '  c1', '    g1', '  c2']);
  });

  it('measures offsets and durations from the trace start to the nanosecond', () => {
    const a = span('a', '', { at: 0, dur: 10 });
    const b = { ...span('b', 'a', { at: 0, dur: 0 }), startTimeUnixNano: (BASE + 1_500n).toString(), endTimeUnixNano: (BASE + 2_750n).toString() };
    const model = buildWaterfall([a, b]);
    expect(model.totalMs).toBe(10);
    expect(model.nodes[1]).toMatchObject({ offsetMs: 0.0015, durationMs: 0.00125, depth: 1, parent: 0 });
    expect(model.traceStartNanos).toBe(BASE);
  });

  it('shows a span whose parent is missing as a root, marked orphan', () => {
    const model = buildWaterfall([span('root', '', { at: 0, dur: 10 }), span('lost', 'not-here', { at: 5, dur: 1 })]);
    expect(model.nodes.map((n) => [n.span.spanId, n.depth, n.orphan])).toEqual([
      ['root', 0, false],
      ['lost', 0, true],
    ]);
  });

  it('keeps every span of a parent cycle and of duplicated ids, each exactly once', () => {
    const spans = [span('x', 'y', { at: 0, dur: 1 }), span('y', 'x', { at: 1, dur: 1 }), span('dup', '', { at: 2, dur: 1 }), span('dup', '', { at: 3, dur: 1 }), span('self', 'self', { at: 4, dur: 1 })];
    const model = buildWaterfall(spans);
    expect(model.nodes).toHaveLength(5);
    expect(model.nodes.map((n) => n.span.spanId).sort()).toEqual(['dup', 'dup', 'self', 'x', 'y']);
  });

  it('counts descendants so a folded subtree is skipped in one step', () => {
    const spans = [span('root', '', { at: 0, dur: 50 }), span('a', 'root', { at: 1, dur: 10 }), span('a1', 'a', { at: 2, dur: 1 }), span('a2', 'a', { at: 3, dur: 1 }), span('b', 'root', { at: 20, dur: 5 })];
    const model = buildWaterfall(spans);
    expect(model.nodes.map((n) => [n.span.spanId, n.descendants, n.childCount])).toEqual([
      ['root', 4, 2],
      ['a', 2, 2],
      ['a1', 0, 0],
      ['a2', 0, 0],
      ['b', 0, 0],
    ]);
    const visible = visibleNodes(model, new Set(['a']));
    expect(visible.map((i) => model.nodes[i]!.span.spanId)).toEqual(['root', 'a', 'b']);
    expect(visibleNodes(model, new Set(['root'])).map((i) => model.nodes[i]!.span.spanId)).toEqual(['root']);
    expect(parentsOf(model)).toEqual(['root', 'a']);
    expect(ancestorsOf(model, 'a2')).toEqual(['a', 'root']);
  });

  it('marks errors, counts them and lists services in order of appearance', () => {
    const model = buildWaterfall([span('r', '', { at: 0, dur: 10, service: 'web' }), span('c', 'r', { at: 1, dur: 2, service: 'db', error: true }), span('d', 'r', { at: 3, dur: 1, service: 'web' })]);
    expect(model.errorCount).toBe(1);
    expect(model.nodes.filter((n) => n.isError).map((n) => n.span.spanId)).toEqual(['c']);
    expect(model.services).toEqual(['web', 'db']);
  });

  it('treats an end before the start as a zero-length span', () => {
    const s = { ...span('a', '', { at: 0, dur: 1 }), endTimeUnixNano: (BASE - 5n).toString() };
    expect(buildWaterfall([s]).nodes[0]!.durationMs).toBe(0);
  });

  it('lays out 5,000 spans, and a 5,000-deep chain, quickly and without recursion', () => {
    const wide = [span('root', '', { at: 0, dur: 5000 })];
    for (let i = 1; i < 5000; i++) wide.push(span(`s${i}`, i < 50 ? 'root' : `s${(i % 49) + 1}`, { at: i * 0.5, dur: 3, service: `svc${i % 7}` }));
    let started = performance.now();
    const model = buildWaterfall(wide);
    const wideMs = performance.now() - started;
    expect(model.nodes).toHaveLength(5000);
    expect(new Set(model.nodes.map((n) => n.span.spanId)).size).toBe(5000);

    const deep = [span('d0', '', { at: 0, dur: 5000 })];
    for (let i = 1; i < 5000; i++) deep.push(span(`d${i}`, `d${i - 1}`, { at: i * 0.1, dur: 1 }));
    started = performance.now();
    const chain = buildWaterfall(deep);
    const deepMs = performance.now() - started;
    expect(chain.maxDepth).toBe(4999);
    expect(chain.nodes[0]!.descendants).toBe(4999);
    // generous bounds for a shared 2-core machine; typical runs take a few ms
    expect(wideMs).toBeLessThan(500);
    expect(deepMs).toBeLessThan(500);
  });
});

describe('barGeometry and timeTicks', () => {
  it('places bars as percentages of the trace and keeps zero-length spans visible', () => {
    expect(barGeometry({ offsetMs: 25, durationMs: 50 }, 100)).toEqual({ leftPct: 25, widthPct: 50 });
    expect(barGeometry({ offsetMs: 10, durationMs: 0 }, 100).widthPct).toBeGreaterThan(0);
    expect(barGeometry({ offsetMs: 0, durationMs: 0 }, 0)).toEqual({ leftPct: 0, widthPct: 100 });
  });

  it('picks round tick steps', () => {
    expect(timeTicks(100)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(timeTicks(7)).toEqual([0, 2, 4, 6]);
    expect(timeTicks(0.35)).toEqual([0, 0.1, 0.2, 0.3]);
    expect(timeTicks(0)).toEqual([0]);
  });
});
