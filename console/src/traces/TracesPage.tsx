import { useMemo, useState } from 'react';
import type { TimeseriesResult, TraceSearchResult } from '../api/types';
import { formatHash } from '../routing/routes';
import { navigate } from '../routing/use-location';
import { useOrg, useSession } from '../shell/contexts';
import { resolveRange } from '../time/range';
import { TimeRangePicker } from '../time/TimeRangePicker';
import { Empty, ErrorState, Loading } from '../ui/states';
import { dataOf, useResource } from '../ui/use-resource';
import { filtersFromQuery, filtersToQuery, searchParams, type TraceFilters } from './filters';
import { TraceFilterForm } from './TraceFilterForm';
import { TraceTable } from './TraceTable';

const MAX_DAYS = 31;

/** Remembers the explorer's last query so the trace page can link back to the same results. */
export const lastSearch = { workspaceId: '', query: '' };

/** Trace explorer: time range, filters (all in the URL), results with paging. */
export function TracesPage({ workspaceId, query }: { workspaceId: string; query: URLSearchParams }) {
  const { api } = useSession();
  const { org } = useOrg();
  const filters = useMemo(() => filtersFromQuery(query), [query]);
  const [refresh, setRefresh] = useState(0);
  const [pages, setPages] = useState<string[]>([]);
  lastSearch.workspaceId = workspaceId;
  lastSearch.query = query.toString();

  const searchKey = filtersToQuery({ ...filters, cursor: '' }).toString();
  // Relative ranges are resolved once per search (and on Refresh), so paging stays in one window.
  const now = useMemo(() => new Date(), [searchKey, refresh]);
  const range = resolveRange(filters, now, MAX_DAYS);

  const go = (next: TraceFilters, options: { keepPages?: boolean } = {}): void => {
    if (!options.keepPages) setPages([]);
    navigate({ page: 'traces', orgId: org.id, workspaceId }, filtersToQuery(next));
  };

  const [result, reload] = useResource<TraceSearchResult | null>(
    (signal) => (range.ok ? api.get<TraceSearchResult>(`/workspaces/${encodeURIComponent(workspaceId)}/traces`, searchParams(filters, range.range), { signal }) : Promise.resolve(null)),
    `${workspaceId}?${query.toString()}#${now.getTime()}`,
  );

  const suggestKey = range.ok ? `${workspaceId}|${searchKey.includes('from=') ? `${filters.from}|${filters.to}` : 'default'}` : '';
  const [suggestions] = useResource<string[]>(async (signal) => {
    if (!range.ok) return [];
    const r = await api.get<TimeseriesResult>(
      `/workspaces/${encodeURIComponent(workspaceId)}/analytics/timeseries`,
      { from: range.range.from.toISOString(), to: range.range.to.toISOString(), groupBy: 'service', metric: 'count', limit: '50' },
      { signal },
    );
    return r.series.map((s) => s.group).filter(Boolean);
  }, suggestKey);

  const data = dataOf(result);
  return (
    <section className="page" aria-labelledby="traces-title">
      <div className="page-head">
        <h1 id="traces-title">Traces</h1>
        <div className="page-actions">
          <TimeRangePicker value={{ from: filters.from, to: filters.to }} maxDays={MAX_DAYS} onChange={(r) => go({ ...filters, ...r, cursor: '' })} />
          <button type="button" className="btn" onClick={() => (setRefresh((n) => n + 1), reload())} title="Run the search again up to now">
            Refresh
          </button>
        </div>
      </div>
      <TraceFilterForm key={searchKey} filters={filters} services={dataOf(suggestions) ?? []} onSearch={(f) => go({ ...f, cursor: '' })} />
      {!range.ok ? (
        <div className="form-error" role="alert">
          {range.error}
        </div>
      ) : result.status === 'error' ? (
        <ErrorState error={result.error} onRetry={reload} />
      ) : !data ? (
        <Loading label="Searching traces…" />
      ) : data.traces.length === 0 && !filters.cursor ? (
        <Empty title="No traces match">
          Widen the time range or remove filters. Spans can take a few seconds to become searchable after they are sent.
        </Empty>
      ) : (
        <div className={result.status === 'loading' ? 'stale' : undefined} aria-busy={result.status === 'loading'}>
          <TraceTable traces={data.traces} linkTo={(traceId) => formatHash({ page: 'trace', orgId: org.id, workspaceId, traceId })} />
          <div className="pager" data-testid="pager">
            <span className="muted">
              Page {pages.length + 1} · {data.traces.length} trace{data.traces.length === 1 ? '' : 's'}
            </span>
            <button type="button" className="btn" disabled={!filters.cursor} onClick={() => {
              const prev = pages.slice(0, -1);
              const cursor = pages[pages.length - 1] ?? '';
              setPages(prev);
              go({ ...filters, cursor }, { keepPages: true });
            }}>
              ← Newer
            </button>
            <button type="button" className="btn" disabled={!data.nextCursor} onClick={() => {
              setPages([...pages, filters.cursor]);
              go({ ...filters, cursor: data.nextCursor ?? '' }, { keepPages: true });
            }}>
              Older →
            </button>
          </div>
        </div>
      )}
    </section>
  );
}
