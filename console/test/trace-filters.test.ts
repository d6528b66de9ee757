import { describe, expect, it } from 'vitest';
import { durationProblem, emptyFilters, filtersFromQuery, filtersToQuery, parseAttributeText, searchParams } from '../src/traces/filters';
import { buildQuery } from '../src/api/query';

describe('trace filters in the URL', () => {
  it('round-trips every filter through the query string with the API’s parameter names', () => {
    const q = new URLSearchParams('from=now-6h&to=now&service=checkout&name=GET+%2Fcart&status=error&minDurationMs=50&maxDurationMs=900&attr.http.status_code=500&attr.user.vip=true&limit=50&cursor=abc');
    const f = filtersFromQuery(q);
    expect(f).toEqual({
      from: 'now-6h',
      to: 'now',
      services: ['checkout'],
      names: ['GET /cart'],
      status: 'error',
      minDurationMs: '50',
      maxDurationMs: '900',
      attributes: [
        { key: 'http.status_code', value: '500' },
        { key: 'user.vip', value: 'true' },
      ],
      limit: 50,
      cursor: 'abc',
    });
    expect(filtersFromQuery(filtersToQuery(f))).toEqual(f);
  });

  it('leaves defaults out of the URL and ignores values it does not know', () => {
    expect(filtersToQuery(emptyFilters()).toString()).toBe('');
    const f = filtersFromQuery(new URLSearchParams('status=bogus&limit=7&attr.=x'));
    expect(f.status).toBe('');
    expect(f.limit).toBe(20);
    expect(f.attributes).toEqual([]);
  });

  it('builds the search request with absolute times and repeated attribute keys', () => {
    const f = { ...emptyFilters(), services: ['a', ' '], attributes: [{ key: 'k', value: '1' }, { key: 'k', value: '2' }, { key: ' ', value: 'x' }], status: 'ok' as const };
    const params = searchParams(f, { from: new Date('2026-11-01T10:00:00Z'), to: new Date('2026-11-01T11:00:00Z') });
    expect(buildQuery(params)).toBe('from=2026-11-01T10%3A00%3A00.000Z&to=2026-11-01T11%3A00%3A00.000Z&service=a&status=ok&limit=20&attr.k=1&attr.k=2');
  });

  it('checks durations before asking the API', () => {
    expect(durationProblem({ minDurationMs: '', maxDurationMs: '' })).toBeNull();
    expect(durationProblem({ minDurationMs: 'abc', maxDurationMs: '' })).toMatch(/Minimum/);
    expect(durationProblem({ minDurationMs: '10', maxDurationMs: '5' })).toMatch(/above/);
    expect(durationProblem({ minDurationMs: '-1', maxDurationMs: '' })).toMatch(/Minimum/);
  });

  it('reads key=value text', () => {
    expect(parseAttributeText('http.route = /a=b')).toEqual({ key: 'http.route', value: '/a=b' });
    expect(parseAttributeText('=x')).toBeNull();
    expect(parseAttributeText('novalue')).toBeNull();
  });
});
