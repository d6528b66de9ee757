/**
 * The waterfall's layout: spans in tree order (each parent followed by its children, by
 * start time), with depth and position on the trace's time axis. Pure and iterative, so a
 * 5,000-span trace or a 5,000-deep chain is laid out in milliseconds without recursion.
 */

export interface LayoutSpan {
  spanId: string;
  parentSpanId: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  serviceName: string;
  status: { code: string };
}

export interface WaterfallNode<S extends LayoutSpan = LayoutSpan> {
  span: S;
  depth: number;
  /** index of the parent node in `nodes`, -1 for a root */
  parent: number;
  /** number of direct children */
  childCount: number;
  /** number of nodes below this one (children, their children, …): the subtree is `nodes[i+1 .. i+descendants]` */
  descendants: number;
  /** start, from the trace's start, in ms */
  offsetMs: number;
  durationMs: number;
  isError: boolean;
  /** the parent span id names a span that is not in the trace */
  orphan: boolean;
}

export interface WaterfallModel<S extends LayoutSpan = LayoutSpan> {
  /** every span, in tree order */
  nodes: Array<WaterfallNode<S>>;
  traceStartNanos: bigint;
  /** from the earliest start to the latest end, in ms */
  totalMs: number;
  /** services in order of first appearance */
  services: string[];
  maxDepth: number;
  errorCount: number;
}

const NS_PER_MS = 1_000_000n;

function nanos(text: string): bigint {
  try {
    return BigInt(text);
  } catch {
    return 0n;
  }
}

/** Nanoseconds difference → ms as a float, exact to the ns for differences below ~104 days. */
function diffMs(a: bigint, b: bigint): number {
  const d = a - b;
  return Number(d / NS_PER_MS) + Number(d % NS_PER_MS) / 1e6;
}

export function buildWaterfall<S extends LayoutSpan>(spans: readonly S[]): WaterfallModel<S> {
  if (spans.length === 0) return { nodes: [], traceStartNanos: 0n, totalMs: 0, services: [], maxDepth: 0, errorCount: 0 };
  const starts = spans.map((s) => nanos(s.startTimeUnixNano));
  const ends = spans.map((s, i) => {
    const e = nanos(s.endTimeUnixNano);
    return e < starts[i]! ? starts[i]! : e;
  });
  let traceStart = starts[0]!;
  let traceEnd = ends[0]!;
  for (let i = 1; i < spans.length; i++) {
    if (starts[i]! < traceStart) traceStart = starts[i]!;
    if (ends[i]! > traceEnd) traceEnd = ends[i]!;
  }

  // First span wins for a duplicated id, so each id names one node.
  const indexById = new Map<string, number>();
  spans.forEach((s, i) => {
    if (!indexById.has(s.spanId)) indexById.set(s.spanId, i);
  });
  const children = new Map<number, number[]>();
  const roots: number[] = [];
  const orphan: boolean[] = spans.map(() => false);
  spans.forEach((s, i) => {
    if (indexById.get(s.spanId) !== i) {
      roots.push(i);
      return;
    }
    const p = s.parentSpanId ? indexById.get(s.parentSpanId) : undefined;
    if (p === undefined || p === i) {
      if (s.parentSpanId && p === undefined) orphan[i] = true;
      roots.push(i);
    } else {
      const list = children.get(p);
      if (list) list.push(i);
      else children.set(p, [i]);
    }
  });
  const byStart = (a: number, b: number): number => {
    const d = starts[a]! - starts[b]!;
    if (d !== 0n) return d < 0n ? -1 : 1;
    const x = spans[a]!.spanId;
    const y = spans[b]!.spanId;
    return x < y ? -1 : x > y ? 1 : a - b;
  };
  roots.sort(byStart);
  for (const list of children.values()) list.sort(byStart);

  const nodes: Array<WaterfallNode<S>> = [];
  const visited = new Uint8Array(spans.length);
  const services: string[] = [];
  const seenServices = new Set<string>();
  let maxDepth = 0;
  let errorCount = 0;

  const visit = (rootIndex: number): void => {
    // Depth-first with an explicit stack; `post` entries close a node's subtree.
    const stack: Array<{ span: number; depth: number; parent: number; post?: number }> = [{ span: rootIndex, depth: 0, parent: -1 }];
    while (stack.length) {
      const item = stack.pop()!;
      if (item.post !== undefined) {
        nodes[item.post]!.descendants = nodes.length - item.post - 1;
        continue;
      }
      if (visited[item.span]) continue;
      visited[item.span] = 1;
      const s = spans[item.span]!;
      const at = nodes.length;
      const kids = (children.get(item.span) ?? []).filter((k) => !visited[k]);
      const isError = s.status.code === 'error';
      if (isError) errorCount += 1;
      if (!seenServices.has(s.serviceName)) {
        seenServices.add(s.serviceName);
        services.push(s.serviceName);
      }
      if (item.depth > maxDepth) maxDepth = item.depth;
      nodes.push({
        span: s,
        depth: item.depth,
        parent: item.parent,
        childCount: kids.length,
        descendants: 0,
        offsetMs: diffMs(starts[item.span]!, traceStart),
        durationMs: diffMs(ends[item.span]!, starts[item.span]!),
        isError,
        orphan: orphan[item.span]!,
      });
      stack.push({ span: item.span, depth: item.depth, parent: item.parent, post: at });
      for (let k = kids.length - 1; k >= 0; k--) stack.push({ span: kids[k]!, depth: item.depth + 1, parent: at });
    }
  };
  for (const r of roots) visit(r);
  // Spans caught in a parent cycle are reachable from no root: show them as roots too.
  for (let i = 0; i < spans.length; i++) if (!visited[i]) visit(i);

  return { nodes, traceStartNanos: traceStart, totalMs: diffMs(traceEnd, traceStart), services, maxDepth, errorCount };
}

/**
 * The node indexes to show when the subtrees under `collapsed` span ids are folded away.
 * Walks the tree order once, skipping each folded subtree in one step.
 */
export function visibleNodes(model: WaterfallModel, collapsed: ReadonlySet<string>): number[] {
  const out: number[] = [];
  const { nodes } = model;
  for (let i = 0; i < nodes.length; i++) {
    out.push(i);
    if (collapsed.has(nodes[i]!.span.spanId)) i += nodes[i]!.descendants;
  }
  return out;
}

/** Span ids of every node that has children (to fold all). */
export function parentsOf(model: WaterfallModel): string[] {
  return model.nodes.filter((n) => n.childCount > 0).map((n) => n.span.spanId);
}

/** A bar's position as percentages of the axis, at least `minWidthPct` wide so a 0 ms span stays visible. */
export function barGeometry(node: Pick<WaterfallNode, 'offsetMs' | 'durationMs'>, totalMs: number, minWidthPct = 0.2): { leftPct: number; widthPct: number } {
  if (totalMs <= 0) return { leftPct: 0, widthPct: 100 };
  const left = Math.min(100, Math.max(0, (node.offsetMs / totalMs) * 100));
  const width = Math.max(minWidthPct, (node.durationMs / totalMs) * 100);
  return { leftPct: left, widthPct: Math.min(width, 100 - left || minWidthPct) };
}

/** Ticks for the time axis: round steps (1, 2, 5 × 10ⁿ ms) giving about `target` intervals. */
export function timeTicks(totalMs: number, target = 5): number[] {
  if (!(totalMs > 0)) return [0];
  const raw = totalMs / target;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? 10 * pow;
  const ticks: number[] = [];
  for (let t = 0; t <= totalMs + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/** The index in `visible` of the node for `spanId`, or -1. */
export function indexOfSpan(model: WaterfallModel, visible: readonly number[], spanId: string): number {
  return visible.findIndex((i) => model.nodes[i]!.span.spanId === spanId);
}

/** Span ids of the ancestors of `spanId` (to unfold when a hidden span is selected). */
export function ancestorsOf(model: WaterfallModel, spanId: string): string[] {
  const at = model.nodes.findIndex((n) => n.span.spanId === spanId);
  const out: string[] = [];
  for (let p = at >= 0 ? model.nodes[at]!.parent : -1; p >= 0; p = model.nodes[p]!.parent) out.push(model.nodes[p]!.span.spanId);
  return out;
}
