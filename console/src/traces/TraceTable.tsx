import type { TraceSummary } from '../api/types';
import { formatDuration, formatTimestamp, nanosToDate } from '../time/format';
import { serviceColors } from '../waterfall/colors';

/** The search results: root service and name, start, duration, span count, errors. */
export function TraceTable({ traces, linkTo }: { traces: TraceSummary[]; linkTo: (traceId: string) => string }) {
  const colors = serviceColors(traces.flatMap((t) => t.services));
  const maxDuration = Math.max(1, ...traces.map((t) => t.durationMs));
  return (
    <table className="table traces-table" data-testid="trace-results">
      <thead>
        <tr>
          <th>Start</th>
          <th>Root service</th>
          <th>Root span</th>
          <th className="num">Duration</th>
          <th className="num">Spans</th>
          <th className="num">Errors</th>
          <th>Services</th>
        </tr>
      </thead>
      <tbody>
        {traces.map((t) => (
          <tr key={t.traceId} className={t.errorCount > 0 ? 'has-error' : undefined} data-trace-id={t.traceId}>
            <td className="mono nowrap">{formatTimestamp(nanosToDate(t.startTimeUnixNano))}</td>
            <td>
              <span className="dot" style={{ background: colors.get(t.rootServiceName) }} aria-hidden="true" />
              {t.rootServiceName || '(unknown)'}
            </td>
            <td>
              <a href={linkTo(t.traceId)} className="trace-link" title={t.traceId}>
                {t.rootSpanName || t.traceId}
              </a>
            </td>
            <td className="num">
              <span className="duration-cell">
                <span className="duration-bar" style={{ width: `${Math.max(2, (t.durationMs / maxDuration) * 100)}%` }} aria-hidden="true" />
                {formatDuration(t.durationMs)}
              </span>
            </td>
            <td className="num">
              {t.truncated && t.totalSpanCount !== undefined ? (
                <span title={`this summary read ${t.spanCount} of the trace's ${t.totalSpanCount} spans`}>
                  {t.spanCount} <span className="muted">of {t.totalSpanCount}</span>
                </span>
              ) : (
                t.spanCount
              )}
            </td>
            <td className="num">{t.errorCount > 0 ? <span className="error-pill">{t.errorCount}</span> : <span className="muted">0</span>}</td>
            <td className="services-cell">
              {t.services.slice(0, 4).map((s) => (
                <span key={s} className="svc-chip" style={{ borderColor: colors.get(s) }}>
                  {s}
                </span>
              ))}
              {t.services.length > 4 ? <span className="muted"> +{t.services.length - 4}</span> : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
