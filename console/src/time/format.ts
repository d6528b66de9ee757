/** Display helpers for times, durations and sizes. Pure. */

/** Milliseconds → `850 µs`, `12.3 ms`, `1.25 s`, `2m 05s`, `1h 02m`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms === 0) return '0 ms';
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 10) return `${trim(ms.toFixed(2))} ms`;
  if (ms < 1000) return `${trim(ms.toFixed(1))} ms`;
  if (ms < 60_000) return `${trim((ms / 1000).toFixed(2))} s`;
  if (ms < 3_600_000) {
    const m = Math.floor(ms / 60_000);
    return `${m}m ${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}s`;
  }
  const h = Math.floor(ms / 3_600_000);
  return `${h}h ${String(Math.floor((ms % 3_600_000) / 60_000)).padStart(2, '0')}m`;
}

const trim = (s: string): string => (s.includes('.') ? s.replace(/\.?0+$/, '') : s);

/** Decimal nanoseconds since the epoch → a Date (millisecond precision). */
export function nanosToDate(nanos: string): Date {
  return new Date(Number(BigInt(nanos) / 1_000_000n));
}

/** A Date → `2026-11-01 14:03:07.123` in the browser's time zone. */
export function formatTimestamp(date: Date): string {
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

/** Bytes → `512 B`, `1.5 KiB`, `3.2 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return i === 0 ? `${v} B` : `${trim(v.toFixed(1))} ${units[i]}`;
}

/** 1234567 → `1,234,567`. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** An exact decimal USD string → `$1.2345` (kept exact: no float rounding of the digits shown). */
export function formatUsd(value: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(value.trim());
  if (!m) return value;
  const frac = (m[3] ?? '').replace(/0+$/, '');
  const shown = frac.length < 2 ? frac.padEnd(2, '0') : frac.slice(0, 6);
  return `${m[1]}$${Number(m[2]).toLocaleString('en-US')}.${shown}`;
}

/** ISO instant → local `YYYY-MM-DD HH:MM:SS`. */
export function formatIso(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : formatTimestamp(d).slice(0, 19);
}
