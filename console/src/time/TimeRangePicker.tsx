import { useEffect, useRef, useState } from 'react';
import { describeRange, fromLocalInput, isRelative, parseInstant, RELATIVE_PRESETS, resolveRange, toLocalInput, type TimeRangeText } from './range';

/**
 * Relative (“Last 1 hour”) or absolute (two local date-times) ranges. The value is kept as
 * text (`now-1h`, ISO) so it can live in the URL.
 */
export function TimeRangePicker({ value, onChange, maxDays }: { value: TimeRangeText; onChange: (range: TimeRangeText) => void; maxDays?: number }) {
  const [open, setOpen] = useState(false);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    const now = new Date();
    setFrom(toLocalInput(parseInstant(value.from, now) ?? new Date(now.getTime() - 3_600_000)));
    setTo(toLocalInput(parseInstant(value.to, now) ?? now));
    setProblem(null);
    const close = (e: MouseEvent): void => {
      if (box.current && !box.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', close);
    return () => document.removeEventListener('mousedown', close);
  }, [open, value.from, value.to]);

  const applyAbsolute = (): void => {
    const f = fromLocalInput(from);
    const t = fromLocalInput(to);
    if (!f || !t) return setProblem('Enter both dates and times');
    const checked = resolveRange({ from: f, to: t }, new Date(), maxDays);
    if (!checked.ok) return setProblem(checked.error);
    onChange({ from: f, to: t });
    setOpen(false);
  };

  return (
    <div className="range-picker" ref={box}>
      <button type="button" className="btn range-button" aria-haspopup="dialog" aria-expanded={open} onClick={() => setOpen(!open)} data-testid="range-button">
        <svg className="icon" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
          <circle cx="8" cy="8" r="6.5" fill="none" stroke="currentColor" strokeWidth="1.5" />
          <path d="M8 4.5V8l2.5 1.5" fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinecap="round" />
        </svg>{' '}
        {describeRange(value)}
      </button>
      {open ? (
        <div className="range-panel" role="dialog" aria-label="Time range">
          <div className="range-presets">
            <div className="panel-title">Relative</div>
            {RELATIVE_PRESETS.filter((p) => maxDays === undefined || !/^now-(\d+)d$/.test(p.from) || Number(/\d+/.exec(p.from)![0]) <= maxDays).map((p) => (
              <button
                key={p.from}
                type="button"
                className={value.from === p.from && value.to === 'now' ? 'preset active' : 'preset'}
                onClick={() => {
                  onChange({ from: p.from, to: 'now' });
                  setOpen(false);
                }}
              >
                {p.label}
              </button>
            ))}
          </div>
          <div className="range-absolute">
            <div className="panel-title">Absolute (your time zone)</div>
            <label className="field">
              <span>From</span>
              <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} aria-label="From" />
            </label>
            <label className="field">
              <span>To</span>
              <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} aria-label="To" />
            </label>
            {problem ? <div className="form-error">{problem}</div> : null}
            <button type="button" className="btn btn-primary" onClick={applyAbsolute}>
              Apply
            </button>
            {!isRelative(value.from) || !isRelative(value.to) ? <div className="muted small">Now showing a fixed range.</div> : null}
          </div>
        </div>
      ) : null}
    </div>
  );
}
