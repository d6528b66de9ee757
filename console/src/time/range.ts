/**
 * Time ranges as the URL holds them: `from`/`to` are each `now`, `now-<n><unit>` (units
 * s, m, h, d, w), an ISO 8601 instant or epoch milliseconds. Relative ranges are
 * resolved against a clock when a query runs; absolute ones are fixed. Pure.
 */

export interface TimeRangeText {
  from: string;
  to: string;
}

export interface ResolvedRange {
  from: Date;
  to: Date;
}

const UNIT_MS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** The picker's relative choices. */
export const RELATIVE_PRESETS: ReadonlyArray<{ label: string; from: string }> = [
  { label: 'Last 5 minutes', from: 'now-5m' },
  { label: 'Last 15 minutes', from: 'now-15m' },
  { label: 'Last 1 hour', from: 'now-1h' },
  { label: 'Last 6 hours', from: 'now-6h' },
  { label: 'Last 24 hours', from: 'now-24h' },
  { label: 'Last 7 days', from: 'now-7d' },
  { label: 'Last 30 days', from: 'now-30d' },
];

export const DEFAULT_RANGE: TimeRangeText = { from: 'now-1h', to: 'now' };

/** Whether an expression is relative to now (`now`, `now-15m`). */
export function isRelative(expr: string): boolean {
  return /^now(-\d+[smhdw])?$/.test(expr.trim());
}

/** One end of a range → an instant, or null when the text is not one of the accepted forms. */
export function parseInstant(expr: string, now: Date): Date | null {
  const text = expr.trim();
  if (text === '') return null;
  const rel = /^now(?:-(\d+)([smhdw]))?$/.exec(text);
  if (rel) {
    if (rel[1] === undefined) return new Date(now.getTime());
    return new Date(now.getTime() - Number(rel[1]) * UNIT_MS[rel[2]!]!);
  }
  if (/^\d{10,16}$/.test(text)) return new Date(Number(text));
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : new Date(ms);
}

/** Both ends → instants, with the checks the API makes (`from < to`, at most `maxDays`). */
export function resolveRange(range: TimeRangeText, now: Date, maxDays?: number): { ok: true; range: ResolvedRange } | { ok: false; error: string } {
  const from = parseInstant(range.from, now);
  const to = parseInstant(range.to, now);
  if (!from) return { ok: false, error: `“${range.from}” is not a time (use now-1h, an ISO date or epoch ms)` };
  if (!to) return { ok: false, error: `“${range.to}” is not a time (use now, an ISO date or epoch ms)` };
  if (to.getTime() <= from.getTime()) return { ok: false, error: 'The end of the range must be after its start' };
  if (maxDays !== undefined && to.getTime() - from.getTime() > maxDays * UNIT_MS.d!) {
    return { ok: false, error: `The range may cover at most ${maxDays} days` };
  }
  return { ok: true, range: { from, to } };
}

/** A short description for the picker's button: `Last 1 hour`, or both ends. */
export function describeRange(range: TimeRangeText): string {
  if (range.to.trim() === 'now') {
    const preset = RELATIVE_PRESETS.find((p) => p.from === range.from.trim());
    if (preset) return preset.label;
    const rel = /^now-(\d+)([smhdw])$/.exec(range.from.trim());
    if (rel) {
      const names: Record<string, string> = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week' };
      const n = Number(rel[1]);
      return `Last ${n} ${names[rel[2]!]}${n === 1 ? '' : 's'}`;
    }
  }
  const show = (e: string): string => (isRelative(e) ? e : formatInstantShort(e));
  return `${show(range.from)} → ${show(range.to)}`;
}

function formatInstantShort(expr: string): string {
  const d = parseInstant(expr, new Date(0));
  return d ? d.toISOString().replace('T', ' ').replace(/:\d\d\.\d{3}Z$/, 'Z') : expr;
}

/** A Date → the value of an `<input type="datetime-local">` in the browser's time zone. */
export function toLocalInput(date: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** The value of an `<input type="datetime-local">` (local time) → an ISO instant, or null. */
export function fromLocalInput(value: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value)) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}
