import { describe, expect, it } from 'vitest';
import { describeRange, fromLocalInput, isRelative, parseInstant, resolveRange, toLocalInput } from '../src/time/range';

const NOW = new Date('2026-11-01T12:00:00.000Z');

describe('parseInstant', () => {
  it('reads now and now minus seconds, minutes, hours, days and weeks', () => {
    expect(parseInstant('now', NOW)).toEqual(NOW);
    expect(parseInstant('now-30s', NOW)!.toISOString()).toBe('2026-11-01T11:59:30.000Z');
    expect(parseInstant('now-15m', NOW)!.toISOString()).toBe('2026-11-01T11:45:00.000Z');
    expect(parseInstant('now-6h', NOW)!.toISOString()).toBe('2026-11-01T06:00:00.000Z');
    expect(parseInstant('now-7d', NOW)!.toISOString()).toBe('2026-10-25T12:00:00.000Z');
    expect(parseInstant('now-1w', NOW)!.toISOString()).toBe('2026-10-25T12:00:00.000Z');
  });

  it('reads ISO instants and epoch milliseconds', () => {
    expect(parseInstant('2026-10-31T08:00:00Z', NOW)!.toISOString()).toBe('2026-10-31T08:00:00.000Z');
    expect(parseInstant('1761897600000', NOW)!.getTime()).toBe(1761897600000);
  });

  it('refuses anything else', () => {
    for (const bad of ['', 'yesterday', 'now-5', 'now+1h', 'now-1y', '2026-13-45T00:00:00Z', '12']) expect(parseInstant(bad, NOW)).toBeNull();
  });
});

describe('resolveRange', () => {
  it('resolves both ends against the clock', () => {
    const r = resolveRange({ from: 'now-1h', to: 'now' }, NOW);
    expect(r).toEqual({ ok: true, range: { from: new Date('2026-11-01T11:00:00Z'), to: NOW } });
  });

  it('refuses an empty or inverted range and one longer than the API allows', () => {
    expect(resolveRange({ from: 'now', to: 'now-1h' }, NOW)).toMatchObject({ ok: false, error: expect.stringContaining('after') });
    expect(resolveRange({ from: 'now-32d', to: 'now' }, NOW, 31)).toMatchObject({ ok: false, error: expect.stringContaining('31 days') });
    expect(resolveRange({ from: 'soon', to: 'now' }, NOW)).toMatchObject({ ok: false });
  });
});

describe('describeRange and the datetime-local helpers', () => {
  it('names presets, other relative ranges and absolute ranges', () => {
    expect(describeRange({ from: 'now-1h', to: 'now' })).toBe('Last 1 hour');
    expect(describeRange({ from: 'now-3h', to: 'now' })).toBe('Last 3 hours');
    expect(describeRange({ from: '2026-10-31T08:00:00.000Z', to: '2026-10-31T09:30:00.000Z' })).toBe('2026-10-31 08:00Z → 2026-10-31 09:30Z');
    expect(isRelative('now-5m')).toBe(true);
    expect(isRelative('2026-10-31T08:00:00Z')).toBe(false);
  });

  it('round-trips a local date-time input', () => {
    const d = new Date(2026, 9, 31, 8, 15);
    expect(toLocalInput(d)).toBe('2026-10-31T08:15');
    expect(fromLocalInput('2026-10-31T08:15')).toBe(d.toISOString());
    expect(fromLocalInput('nonsense')).toBeNull();
  });
});
