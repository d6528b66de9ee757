import type { QueryParams } from '../api/query';
import { DEFAULT_RANGE, type ResolvedRange } from '../time/range';

/**
 * The trace explorer's filters, as they live in the URL. The URL uses the API's own
 * parameter names (`service`, `name`, `status`, `minDurationMs`, `attr.<key>`, …) plus
 * relative `from`/`to`, so a link says exactly what was searched. Pure.
 */
export const TRACE_STATUSES = ['ok', 'error', 'unset'] as const;
export type TraceStatusFilter = (typeof TRACE_STATUSES)[number];

export interface AttributeFilter {
  key: string;
  value: string;
}

export interface TraceFilters {
  from: string;
  to: string;
  services: string[];
  names: string[];
  status: TraceStatusFilter | '';
  minDurationMs: string;
  maxDurationMs: string;
  attributes: AttributeFilter[];
  limit: number;
  cursor: string;
}

export const PAGE_SIZES = [20, 50, 100] as const;
export const DEFAULT_PAGE_SIZE = 20;

export const emptyFilters = (): TraceFilters => ({
  ...DEFAULT_RANGE,
  services: [],
  names: [],
  status: '',
  minDurationMs: '',
  maxDurationMs: '',
  attributes: [],
  limit: DEFAULT_PAGE_SIZE,
  cursor: '',
});

const ATTR_PREFIX = 'attr.';

export function filtersFromQuery(query: URLSearchParams): TraceFilters {
  const f = emptyFilters();
  f.from = query.get('from') || f.from;
  f.to = query.get('to') || f.to;
  f.services = query.getAll('service').filter(Boolean);
  f.names = query.getAll('name').filter(Boolean);
  const status = query.get('status') ?? '';
  f.status = (TRACE_STATUSES as readonly string[]).includes(status) ? (status as TraceStatusFilter) : '';
  f.minDurationMs = query.get('minDurationMs') ?? '';
  f.maxDurationMs = query.get('maxDurationMs') ?? '';
  const limit = Number(query.get('limit'));
  f.limit = (PAGE_SIZES as readonly number[]).includes(limit) ? limit : DEFAULT_PAGE_SIZE;
  f.cursor = query.get('cursor') ?? '';
  for (const [name, value] of query) {
    if (name.startsWith(ATTR_PREFIX) && name.length > ATTR_PREFIX.length) f.attributes.push({ key: name.slice(ATTR_PREFIX.length), value });
  }
  return f;
}

/** Filters → the URL's query string; defaults are left out so links stay short. */
export function filtersToQuery(f: TraceFilters): URLSearchParams {
  const q = new URLSearchParams();
  if (f.from !== DEFAULT_RANGE.from || f.to !== DEFAULT_RANGE.to) {
    q.set('from', f.from);
    q.set('to', f.to);
  }
  for (const s of f.services) if (s.trim()) q.append('service', s.trim());
  for (const n of f.names) if (n.trim()) q.append('name', n.trim());
  if (f.status) q.set('status', f.status);
  if (f.minDurationMs.trim()) q.set('minDurationMs', f.minDurationMs.trim());
  if (f.maxDurationMs.trim()) q.set('maxDurationMs', f.maxDurationMs.trim());
  for (const a of f.attributes) if (a.key.trim()) q.append(`${ATTR_PREFIX}${a.key.trim()}`, a.value);
  if (f.limit !== DEFAULT_PAGE_SIZE) q.set('limit', String(f.limit));
  if (f.cursor) q.set('cursor', f.cursor);
  return q;
}

/** Filters + the range resolved for this search → `GET /workspaces/:ws/traces` parameters. */
export function searchParams(f: TraceFilters, range: ResolvedRange): QueryParams {
  const params: QueryParams = {
    from: range.from.toISOString(),
    to: range.to.toISOString(),
    service: f.services.map((s) => s.trim()).filter(Boolean),
    name: f.names.map((n) => n.trim()).filter(Boolean),
    status: f.status || undefined,
    minDurationMs: f.minDurationMs.trim() || undefined,
    maxDurationMs: f.maxDurationMs.trim() || undefined,
    limit: String(f.limit),
    cursor: f.cursor || undefined,
  };
  const byKey = new Map<string, string[]>();
  for (const a of f.attributes) {
    const key = a.key.trim();
    if (!key) continue;
    byKey.set(key, [...(byKey.get(key) ?? []), a.value]);
  }
  for (const [key, values] of byKey) params[`${ATTR_PREFIX}${key}`] = values;
  return params;
}

/** What is wrong with the duration fields, if anything (checked before asking the API). */
export function durationProblem(f: Pick<TraceFilters, 'minDurationMs' | 'maxDurationMs'>): string | null {
  const parse = (s: string): number | null | undefined => {
    if (!s.trim()) return undefined;
    const n = Number(s);
    return Number.isFinite(n) && n >= 0 ? n : null;
  };
  const min = parse(f.minDurationMs);
  const max = parse(f.maxDurationMs);
  if (min === null) return 'Minimum duration must be a number of milliseconds';
  if (max === null) return 'Maximum duration must be a number of milliseconds';
  if (min !== undefined && max !== undefined && min > max) return 'Minimum duration is above the maximum';
  return null;
}

/** `key=value` text (one filter) → a filter, or null when there is no `=` or no key. */
export function parseAttributeText(text: string): AttributeFilter | null {
  const i = text.indexOf('=');
  if (i <= 0) return null;
  const key = text.slice(0, i).trim();
  return key ? { key, value: text.slice(i + 1).trim() } : null;
}
