import { useState, type FormEvent } from 'react';
import { durationProblem, emptyFilters, PAGE_SIZES, TRACE_STATUSES, type TraceFilters } from './filters';

/** Service, span name, status, duration and attribute filters; applied to the URL on Search. */
export function TraceFilterForm({ filters, services, onSearch }: { filters: TraceFilters; services: string[]; onSearch: (f: TraceFilters) => void }) {
  const [draft, setDraft] = useState<TraceFilters>(() => ({ ...filters, attributes: filters.attributes.map((a) => ({ ...a })) }));
  const [problem, setProblem] = useState<string | null>(null);
  const set = (patch: Partial<TraceFilters>): void => setDraft((d) => ({ ...d, ...patch }));

  const submit = (e: FormEvent): void => {
    e.preventDefault();
    const p = durationProblem(draft);
    setProblem(p);
    if (!p) onSearch({ ...draft, attributes: draft.attributes.filter((a) => a.key.trim()) });
  };

  return (
    <form className="filters" onSubmit={submit} aria-label="Trace filters">
      <label className="field">
        <span>Service</span>
        <input list="service-options" value={draft.services[0] ?? ''} onChange={(e) => set({ services: e.target.value ? [e.target.value] : [] })} placeholder="any" name="service" />
        <datalist id="service-options">
          {services.map((s) => (
            <option key={s} value={s} />
          ))}
        </datalist>
      </label>
      <label className="field">
        <span>Span name</span>
        <input value={draft.names[0] ?? ''} onChange={(e) => set({ names: e.target.value ? [e.target.value] : [] })} placeholder="exact name" name="name" />
      </label>
      <label className="field field-narrow">
        <span>Status</span>
        <select value={draft.status} onChange={(e) => set({ status: e.target.value as TraceFilters['status'] })} name="status">
          <option value="">any</option>
          {TRACE_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label className="field field-narrow">
        <span>Min ms</span>
        <input inputMode="decimal" value={draft.minDurationMs} onChange={(e) => set({ minDurationMs: e.target.value })} name="minDurationMs" placeholder="0" />
      </label>
      <label className="field field-narrow">
        <span>Max ms</span>
        <input inputMode="decimal" value={draft.maxDurationMs} onChange={(e) => set({ maxDurationMs: e.target.value })} name="maxDurationMs" placeholder="∞" />
      </label>
      <label className="field field-narrow">
        <span>Per page</span>
        <select value={draft.limit} onChange={(e) => set({ limit: Number(e.target.value) })} name="limit">
          {PAGE_SIZES.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </label>
      <div className="attr-filters">
        <span className="field-label">Attributes</span>
        {draft.attributes.map((a, i) => (
          <span key={i} className="attr-filter">
            <input aria-label={`Attribute ${i + 1} key`} value={a.key} placeholder="http.status_code" onChange={(e) => set({ attributes: draft.attributes.map((x, j) => (j === i ? { ...x, key: e.target.value } : x)) })} />
            <span>=</span>
            <input aria-label={`Attribute ${i + 1} value`} value={a.value} placeholder="500" onChange={(e) => set({ attributes: draft.attributes.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)) })} />
            <button type="button" className="btn btn-quiet" aria-label={`Remove attribute ${i + 1}`} onClick={() => set({ attributes: draft.attributes.filter((_, j) => j !== i) })}>
              ×
            </button>
          </span>
        ))}
        <button type="button" className="btn btn-quiet" onClick={() => set({ attributes: [...draft.attributes, { key: '', value: '' }] })}>
          + attribute
        </button>
      </div>
      <div className="filter-actions">
        <button type="submit" className="btn btn-primary">
          Search
        </button>
        <button type="button" className="btn btn-quiet" onClick={() => onSearch({ ...emptyFilters(), from: filters.from, to: filters.to })}>
          Clear filters
        </button>
      </div>
      {problem ? (
        <div className="form-error" role="alert">
          {problem}
        </div>
      ) : null}
    </form>
  );
}
