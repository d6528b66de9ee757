import { useCallback, useMemo } from 'react';
import type { PriceList, TraceDetail } from '../api/types';
import { can } from '../permissions/access';
import { formatHash } from '../routing/routes';
import { navigate } from '../routing/use-location';
import { useOrg, useSession } from '../shell/contexts';
import { formatDuration, formatTimestamp, nanosToDate } from '../time/format';
import { ResourceView } from '../ui/states';
import { dataOf, useResource } from '../ui/use-resource';
import { serviceColors } from '../waterfall/colors';
import { buildWaterfall } from '../waterfall/layout';
import { truncatedTraceBanner } from '../waterfall/limits';
import { SpanDetails } from '../waterfall/SpanDetails';
import { Waterfall } from '../waterfall/Waterfall';
import { lastSearch } from './TracesPage';

/** One trace: its waterfall and, for the selected span (`?span=` in the URL), its details. */
export function TracePage({ workspaceId, traceId, query }: { workspaceId: string; traceId: string; query: URLSearchParams }) {
  const { api } = useSession();
  const { org, access } = useOrg();
  const [trace, reload] = useResource(
    (signal) => api.get<TraceDetail>(`/workspaces/${encodeURIComponent(workspaceId)}/traces/${encodeURIComponent(traceId)}`, undefined, { signal }),
    `${workspaceId}/${traceId}`,
  );
  const mayPrice = can(access, 'billing:read');
  const [prices] = useResource((signal) => (mayPrice ? api.get<PriceList>(`/orgs/${encodeURIComponent(org.id)}/prices`, undefined, { signal }) : Promise.resolve(null)), `${org.id}|${mayPrice}`);

  const selectedId = query.get('span');
  const select = useCallback(
    (spanId: string | null) => {
      const q = new URLSearchParams(query);
      if (spanId) q.set('span', spanId);
      else q.delete('span');
      navigate({ page: 'trace', orgId: org.id, workspaceId, traceId }, q, { replace: true });
    },
    [query, org.id, workspaceId, traceId],
  );
  const onSelect = useCallback((spanId: string) => select(spanId), [select]);

  const detail = dataOf(trace);
  const model = useMemo(() => (detail ? buildWaterfall(detail.spans) : null), [detail]);
  const colors = useMemo(() => serviceColors(model?.services ?? []), [model]);
  const back = lastSearch.workspaceId === workspaceId ? lastSearch.query : '';

  return (
    <section className="page page-trace" aria-labelledby="trace-title">
      <div className="page-head">
        <div>
          <a href={formatHash({ page: 'traces', orgId: org.id, workspaceId }, back)} className="back-link">
            ← Traces
          </a>
          <h1 id="trace-title">
            {model && model.nodes[0] ? model.nodes[0].span.name : 'Trace'} <span className="mono muted trace-id">{traceId}</span>
          </h1>
        </div>
      </div>
      <ResourceView resource={trace} onRetry={reload} loadingLabel="Loading the trace…">
        {() =>
          !model || model.nodes.length === 0 ? (
            <div className="muted">This trace has no spans.</div>
          ) : (
            <>
              <div className="trace-summary" data-testid="trace-summary">
                <span>
                  <strong>{formatDuration(model.totalMs)}</strong> total
                </span>
                <span>
                  <strong>{model.nodes.length}</strong> spans
                </span>
                <span className={model.errorCount ? 'error-text' : undefined}>
                  <strong>{model.errorCount}</strong> {model.errorCount === 1 ? 'error' : 'errors'}
                </span>
                <span>started {formatTimestamp(nanosToDate(model.traceStartNanos.toString()))}</span>
                <span className="legend">
                  {model.services.map((s) => (
                    <span key={s} className="legend-item">
                      <span className="dot" style={{ background: colors.get(s) }} aria-hidden="true" />
                      {s}
                    </span>
                  ))}
                </span>
              </div>
              {detail?.truncated ? (
                <div className="warning" role="status" data-testid="trace-truncated">
                  {truncatedTraceBanner(detail)}
                </div>
              ) : null}
              <div className="trace-layout">
                <Waterfall model={model} colors={colors} selectedId={selectedId} onSelect={onSelect} />
                {(() => {
                  const node = selectedId ? model.nodes.find((n) => n.span.spanId === selectedId) : undefined;
                  return node ? (
                    <SpanDetails
                      key={node.span.spanId}
                      span={node.span}
                      traceStartNanos={model.traceStartNanos}
                      color={colors.get(node.span.serviceName) ?? '#888'}
                      prices={prices.status === 'ready' && prices.data ? prices.data.prices : null}
                      linkToTrace={(t, s) => formatHash({ page: 'trace', orgId: org.id, workspaceId, traceId: t }, `span=${s}`)}
                      onClose={() => select(null)}
                    />
                  ) : null;
                })()}
              </div>
            </>
          )
        }
      </ResourceView>
    </section>
  );
}
