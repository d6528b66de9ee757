import type { ReactNode } from 'react';
import type { AttributeMap, PriceEntry, Span } from '../api/types';
import { formatBytes, formatCount, formatDuration, formatTimestamp, formatUsd, nanosToDate } from '../time/format';
import { typedAttributes, typeLabel } from './attributes';
import { genaiCost, genaiInfo } from './genai';
import { cutValues, spanLimitNotes } from './limits';

function AttributeTable({ attributes, testId, cut }: { attributes: AttributeMap | undefined; testId?: string; cut?: ReadonlyMap<string, number> }) {
  const rows = typedAttributes(attributes);
  if (rows.length === 0) return <div className="muted small">none</div>;
  return (
    <table className="table attr-table" data-testid={testId}>
      <tbody>
        {rows.map((a) => (
          <tr key={a.key}>
            <th scope="row" className="mono">
              {a.key}
            </th>
            <td>
              <span className={`type type-${a.type}`}>{typeLabel(a)}</span>
            </td>
            <td className={`mono value value-${a.type}`}>
              {a.display}
              {cut?.has(a.key) ? (
                <span className="badge" title="cut by the ingest value limit" data-testid="cut-badge">
                  cut · {formatBytes(cut.get(a.key)!)} sent
                </span>
              ) : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Section({ title, count, children, testId }: { title: string; count?: number; children: ReactNode; testId?: string }) {
  return (
    <details className="detail-section" open data-testid={testId}>
      <summary>
        {title}
        {count !== undefined ? <span className="muted"> ({count})</span> : null}
      </summary>
      {children}
    </details>
  );
}

/** What the ingest limits cut or dropped from this span; nothing when the span is whole. */
function LimitNotes({ span }: { span: Span }) {
  const notes = spanLimitNotes(span);
  if (notes.length === 0) return null;
  return (
    <div className="warning small" data-testid="span-limits">
      <div>Limits applied at ingest:</div>
      <ul>
        {notes.map((n, i) => (
          <li key={i}>
            <span className="mono">{n.what}</span>: {n.detail}
          </li>
        ))}
      </ul>
    </div>
  );
}

function GenAiCard({ span, prices }: { span: Span; prices: PriceEntry[] | null }) {
  const info = genaiInfo(span.attributes);
  if (!info) return null;
  const cost = prices ? genaiCost(info, prices) : null;
  return (
    <div className="genai-card" data-testid="genai-card">
      <div className="genai-title">GenAI call</div>
      <dl className="kv">
        <dt>Model</dt>
        <dd className="mono">{info.model || '(not reported)'}</dd>
        {info.provider ? (
          <>
            <dt>Provider</dt>
            <dd>{info.provider}</dd>
          </>
        ) : null}
        <dt>Input tokens</dt>
        <dd>{formatCount(info.inputTokens)}</dd>
        <dt>Output tokens</dt>
        <dd>{formatCount(info.outputTokens)}</dd>
        {info.cacheReadTokens ? (
          <>
            <dt>Cache read</dt>
            <dd>{formatCount(info.cacheReadTokens)}</dd>
          </>
        ) : null}
        {info.cacheCreationTokens ? (
          <>
            <dt>Cache write</dt>
            <dd>{formatCount(info.cacheCreationTokens)}</dd>
          </>
        ) : null}
        {info.reasoningTokens ? (
          <>
            <dt>Reasoning</dt>
            <dd>{formatCount(info.reasoningTokens)}</dd>
          </>
        ) : null}
        <dt>Total tokens</dt>
        <dd>{formatCount(info.totalTokens)}</dd>
        <dt>Cost</dt>
        <dd data-testid="genai-cost">
          {cost !== null ? (
            <>
              {formatUsd(cost)} <span className="muted small">(org price list)</span>
            </>
          ) : prices ? (
            <span className="muted">no price for this model</span>
          ) : (
            <span className="muted">needs billing access (see Analytics for cost by model)</span>
          )}
        </dd>
      </dl>
    </div>
  );
}

/** Everything about one span: timing, status, GenAI usage, typed attributes, resource, scope, events, links. */
export function SpanDetails(props: { span: Span; traceStartNanos: bigint; color: string; prices: PriceEntry[] | null; linkToTrace: (traceId: string, spanId: string) => string; onClose: () => void }) {
  const { span, traceStartNanos, color, prices } = props;
  const start = BigInt(span.startTimeUnixNano);
  const offsetMs = Number(start - traceStartNanos) / 1e6;
  return (
    <aside className="span-details" aria-label="Span details" data-testid="span-details">
      <div className="span-details-head">
        <div>
          <div className="span-title">{span.name}</div>
          <div className="muted">
            <span className="dot" style={{ background: color }} aria-hidden="true" />
            {span.serviceName} · {span.kind}
          </div>
        </div>
        <button type="button" className="btn btn-quiet" onClick={props.onClose} aria-label="Close span details">
          ×
        </button>
      </div>
      <dl className="kv">
        <dt>Status</dt>
        <dd>
          <span className={`status status-${span.status.code}`}>{span.status.code}</span>
          {span.status.message ? <span className="status-message"> {span.status.message}</span> : null}
        </dd>
        <dt>Duration</dt>
        <dd>{formatDuration(span.durationMs)}</dd>
        <dt>Start</dt>
        <dd>
          {formatTimestamp(nanosToDate(span.startTimeUnixNano))} <span className="muted">(+{formatDuration(offsetMs)})</span>
        </dd>
        <dt>Span ID</dt>
        <dd className="mono">{span.spanId}</dd>
        <dt>Parent</dt>
        <dd className="mono">{span.parentSpanId || '(root)'}</dd>
      </dl>
      <LimitNotes span={span} />
      <GenAiCard span={span} prices={prices} />
      <Section title="Attributes" count={Object.keys(span.attributes).length} testId="span-attributes">
        <AttributeTable attributes={span.attributes} testId="attribute-table" cut={cutValues(span, 'attributes.')} />
        {span.droppedAttributesCount ? <div className="muted small">{formatCount(span.droppedAttributesCount)} dropped (by the SDK or the ingest limit)</div> : null}
      </Section>
      <Section title="Resource" count={Object.keys(span.resource).length} testId="span-resource">
        <AttributeTable attributes={span.resource} cut={cutValues(span, 'resource.')} />
      </Section>
      <Section title="Instrumentation scope" testId="span-scope">
        <dl className="kv">
          <dt>Name</dt>
          <dd className="mono">{span.scope.name || '(none)'}</dd>
          <dt>Version</dt>
          <dd className="mono">{span.scope.version || '(none)'}</dd>
        </dl>
        {span.scope.attributes && Object.keys(span.scope.attributes).length ? <AttributeTable attributes={span.scope.attributes} /> : null}
      </Section>
      <Section title="Events" count={span.events.length} testId="span-events">
        {span.events.length === 0 ? <div className="muted small">none</div> : null}
        {span.events.map((e, i) => (
          <div key={i} className="event">
            <div>
              <strong>{e.name}</strong> <span className="muted">+{formatDuration(Number(BigInt(e.timeUnixNano) - start) / 1e6)} into the span</span>
            </div>
            <AttributeTable attributes={e.attributes} />
          </div>
        ))}
      </Section>
      <Section title="Links" count={span.links.length} testId="span-links">
        {span.links.length === 0 ? <div className="muted small">none</div> : null}
        {span.links.map((l, i) => (
          <div key={i} className="event">
            <div className="mono small">
              trace <a href={props.linkToTrace(l.traceId, l.spanId)}>{l.traceId}</a> · span {l.spanId}
            </div>
            <AttributeTable attributes={l.attributes} />
          </div>
        ))}
      </Section>
    </aside>
  );
}
