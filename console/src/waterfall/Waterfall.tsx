import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import type { Span } from '../api/types';
import { formatDuration } from '../time/format';
import { ERROR_COLOR } from './colors';
import { ancestorsOf, barGeometry, indexOfSpan, parentsOf, timeTicks, visibleNodes, type WaterfallModel, type WaterfallNode } from './layout';
import { rowWindow, scrollToRow } from './window';

export const ROW_HEIGHT = 28;
const INDENT_PX = 14;
const MAX_INDENT_LEVELS = 24;

interface RowProps {
  node: WaterfallNode<Span>;
  /** position among the shown rows, from 0 */
  index: number;
  top: number;
  totalMs: number;
  color: string;
  selected: boolean;
  collapsed: boolean;
  onSelect: (spanId: string) => void;
  onToggle: (spanId: string) => void;
}

const Row = memo(function Row({ node, index, top, totalMs, color, selected, collapsed, onSelect, onToggle }: RowProps) {
  const { leftPct, widthPct } = barGeometry(node, totalMs);
  const s = node.span;
  const indent = Math.min(node.depth, MAX_INDENT_LEVELS) * INDENT_PX;
  // The duration goes right of the bar when there is room, else left of it, else inside it.
  const label = leftPct + widthPct < 80 ? { left: `calc(${leftPct + widthPct}% + 4px)` } : leftPct > 12 ? { right: `calc(${100 - leftPct}% + 4px)` } : null;
  return (
    <div
      className={`wf-row${selected ? ' selected' : ''}${node.isError ? ' error' : ''}`}
      style={{ top, height: ROW_HEIGHT }}
      role="row"
      aria-rowindex={index + 1}
      aria-selected={selected}
      data-testid="waterfall-row"
      data-span-id={s.spanId}
      onClick={() => onSelect(s.spanId)}
    >
      <div className="wf-name" role="gridcell" style={{ paddingLeft: indent + 6 }} title={node.depth > MAX_INDENT_LEVELS ? `depth ${node.depth}` : undefined}>
        {node.childCount > 0 ? (
          <button
            type="button"
            className="wf-toggle"
            aria-label={collapsed ? `Expand ${s.name}` : `Collapse ${s.name}`}
            aria-expanded={!collapsed}
            onClick={(e) => {
              e.stopPropagation();
              onToggle(s.spanId);
            }}
          >
            {collapsed ? '▸' : '▾'}
          </button>
        ) : (
          <span className="wf-toggle-space" />
        )}
        <span className="wf-service" style={{ background: color }} aria-hidden="true" />
        <span className="wf-service-name">{s.serviceName}</span>
        <span className="wf-span-name">{s.name}</span>
        {node.isError ? (
          <span className="wf-error" title={s.status.message || 'error'} aria-label="error">
            ⚠
          </span>
        ) : null}
        {collapsed ? <span className="wf-hidden-count">+{node.descendants}</span> : null}
      </div>
      <div className="wf-timeline" role="gridcell">
        <div
          className="wf-bar"
          style={{ left: `${leftPct}%`, width: `${widthPct}%`, background: node.isError ? ERROR_COLOR : color }}
          title={`${s.name}: ${formatDuration(node.durationMs)} at +${formatDuration(node.offsetMs)}`}
        />
        <span className={label ? 'wf-duration' : 'wf-duration inside'} style={label ?? { left: `calc(${leftPct}% + 6px)` }}>
          {formatDuration(node.durationMs)}
        </span>
      </div>
    </div>
  );
});

/**
 * Every span on the trace's time axis, nested, coloured by service, errors in red. Only the
 * rows near the viewport are in the DOM (fixed row height), so 5,000 spans scroll smoothly.
 */
export function Waterfall({ model, colors, selectedId, onSelect }: { model: WaterfallModel<Span>; colors: Map<string, string>; selectedId: string | null; onSelect: (spanId: string) => void }) {
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(() => new Set());
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  const viewport = useRef<HTMLDivElement>(null);

  const visible = useMemo(() => visibleNodes(model, collapsed), [model, collapsed]);
  const ticks = useMemo(() => timeTicks(model.totalMs), [model.totalMs]);

  useLayoutEffect(() => {
    const el = viewport.current;
    if (!el) return;
    setHeight(el.clientHeight);
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // A newly selected span (from the URL, a click or the keyboard) inside a folded subtree is
  // unfolded, then scrolled into view. Folding later does not unfold it again.
  const [scrollTarget, setScrollTarget] = useState<string | null>(null);
  useEffect(() => {
    if (!selectedId) return;
    setCollapsed((c) => {
      const hiddenBy = ancestorsOf(model, selectedId).filter((id) => c.has(id));
      return hiddenBy.length ? new Set([...c].filter((id) => !hiddenBy.includes(id))) : c;
    });
    setScrollTarget(selectedId);
  }, [selectedId, model]);
  useEffect(() => {
    const el = viewport.current;
    if (!scrollTarget || !el) return;
    setScrollTarget(null);
    const index = indexOfSpan(model, visible, scrollTarget);
    if (index < 0) return;
    const next = scrollToRow({ index, rowHeight: ROW_HEIGHT, scrollTop: el.scrollTop, viewportHeight: el.clientHeight });
    if (next !== el.scrollTop) el.scrollTop = next;
  }, [scrollTarget, model, visible]);

  const toggle = useCallback((spanId: string) => {
    setCollapsed((c) => {
      const next = new Set(c);
      if (next.has(spanId)) next.delete(spanId);
      else next.add(spanId);
      return next;
    });
  }, []);

  const onKey = (e: KeyboardEvent): void => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    e.preventDefault();
    const at = selectedId ? indexOfSpan(model, visible, selectedId) : -1;
    const next = e.key === 'ArrowDown' ? Math.min(visible.length - 1, at + 1) : Math.max(0, at - 1);
    const node = model.nodes[visible[next]!];
    if (node) onSelect(node.span.spanId);
  };

  const win = rowWindow({ scrollTop, viewportHeight: height, rowHeight: ROW_HEIGHT, rowCount: visible.length });
  const rows = [];
  for (let i = win.start; i < win.end; i++) {
    const node = model.nodes[visible[i]!]!;
    rows.push(
      <Row
        key={node.span.spanId + ':' + visible[i]}
        node={node}
        index={i}
        top={i * ROW_HEIGHT}
        totalMs={model.totalMs}
        color={colors.get(node.span.serviceName) ?? '#888'}
        selected={node.span.spanId === selectedId}
        collapsed={collapsed.has(node.span.spanId)}
        onSelect={onSelect}
        onToggle={toggle}
      />,
    );
  }

  return (
    <div className="waterfall" data-testid="waterfall" data-span-count={model.nodes.length}>
      <div className="wf-toolbar">
        <span className="muted">
          {visible.length === model.nodes.length ? `${model.nodes.length} spans` : `${visible.length} of ${model.nodes.length} spans shown`} · depth {model.maxDepth + 1}
        </span>
        <button type="button" className="btn btn-quiet" onClick={() => setCollapsed(new Set())} disabled={collapsed.size === 0}>
          Expand all
        </button>
        <button type="button" className="btn btn-quiet" onClick={() => setCollapsed(new Set(parentsOf(model)))}>
          Collapse all
        </button>
      </div>
      <div className="wf-header" aria-hidden="true">
        <div className="wf-name">Service · span</div>
        <div className="wf-timeline wf-axis">
          {ticks.map((t) => (
            <span key={t} className="wf-tick" style={{ left: `${model.totalMs > 0 ? (t / model.totalMs) * 100 : 0}%` }}>
              {formatDuration(t)}
            </span>
          ))}
        </div>
      </div>
      <div
        className="wf-viewport"
        ref={viewport}
        tabIndex={0}
        role="grid"
        aria-label="Span waterfall"
        aria-rowcount={visible.length}
        onKeyDown={onKey}
        onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
        data-testid="waterfall-viewport"
      >
        <div className="wf-canvas" style={{ height: win.totalHeight }}>
          <div className="wf-gridlines" aria-hidden="true">
            {ticks.map((t) => (
              <span key={t} style={{ left: `${model.totalMs > 0 ? (t / model.totalMs) * 100 : 0}%` }} />
            ))}
          </div>
          {rows}
        </div>
      </div>
    </div>
  );
}
