import { describe, expect, it } from 'vitest';
import { formatHash, parseHash, type Route } from '../src/routing/routes';
import { filenameFromDisposition } from '../src/api/query';

describe('hash routes', () => {
  const routes: Array<[string, Route]> = [
    ['#/', { page: 'home' }],
    ['#/signin', { page: 'signin' }],
    ['#/orgs/o1', { page: 'org', orgId: 'o1' }],
    ['#/orgs/o1/workspaces/w1/traces', { page: 'traces', orgId: 'o1', workspaceId: 'w1' }],
    ['#/orgs/o1/workspaces/w1/traces/0af7651916cd43dd8448eb211c80319c', { page: 'trace', orgId: 'o1', workspaceId: 'w1', traceId: '0af7651916cd43dd8448eb211c80319c' }],
    ['#/orgs/o1/workspaces/w1/analytics', { page: 'analytics', orgId: 'o1', workspaceId: 'w1' }],
    ['#/orgs/o1/workspaces/w1/keys', { page: 'keys', orgId: 'o1', workspaceId: 'w1' }],
    ['#/orgs/o1/workspaces/w1/ingest', { page: 'ingest', orgId: 'o1', workspaceId: 'w1' }],
    ['#/orgs/o1/usage', { page: 'usage', orgId: 'o1' }],
    ['#/orgs/o1/ingest', { page: 'org-ingest', orgId: 'o1' }],
    ['#/orgs/o1/settings/workspaces', { page: 'workspaces', orgId: 'o1' }],
    ['#/orgs/o1/settings/members', { page: 'members', orgId: 'o1' }],
    ['#/orgs/o1/settings/audit', { page: 'audit', orgId: 'o1' }],
  ];
  it.each(routes)('%s', (hash, route) => {
    expect(parseHash(hash).route).toEqual(route);
    expect(formatHash(route)).toBe(hash);
  });

  it('keeps the query and escapes ids', () => {
    const loc = parseHash('#/orgs/a%2Fb/usage?from=2026-11-01&to=2026-11-30');
    expect(loc.route).toEqual({ page: 'usage', orgId: 'a/b' });
    expect(loc.query.get('from')).toBe('2026-11-01');
    expect(formatHash(loc.route, loc.query)).toBe('#/orgs/a%2Fb/usage?from=2026-11-01&to=2026-11-30');
  });

  it('says not-found for anything else', () => {
    expect(parseHash('#/nope').route.page).toBe('not-found');
    expect(parseHash('#/orgs/o1/workspaces/w1/traces/t/extra').route.page).toBe('not-found');
    expect(parseHash('#/orgs/o1/settings/keys').route.page).toBe('not-found');
  });
});

describe('filenameFromDisposition', () => {
  it('reads plain and RFC 5987 file names', () => {
    expect(filenameFromDisposition('attachment; filename="canopy-usage-o1-2026-11-01-2026-11-30.csv"')).toBe('canopy-usage-o1-2026-11-01-2026-11-30.csv');
    expect(filenameFromDisposition("attachment; filename*=UTF-8''na%C3%AFve.csv")).toBe('naïve.csv');
    expect(filenameFromDisposition(null)).toBeNull();
  });
});
