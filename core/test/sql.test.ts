import { describe, expect, it } from 'vitest';
import { AllTenants, literal, quoteString, sql } from '../src/clickhouse/sql.js';
import { createClickHouse } from '../src/clickhouse/client.js';

describe('sql builder', () => {
  it('turns every interpolated value into a literal, never into SQL text', () => {
    const q = sql`SELECT * FROM spans WHERE name = ${"x' OR 1=1 --"} AND n > ${5} AND ok = ${true}`;
    expect(q.text).toBe("SELECT * FROM spans WHERE name = 'x\\' OR 1=1 --' AND n > 5 AND ok = 1");
  });

  it('escapes backslashes, quotes, NUL and control characters', () => {
    expect(quoteString("a\\b'c\0d\ne\u0001")).toBe("'a\\\\b\\'c\\0d\\ne\\x01'");
  });

  it('renders arrays, bigints, dates and nested fragments', () => {
    expect(literal(['a', 1, 2n])).toBe("['a', 1, 2]");
    expect(literal(new Date(1_700_000_000_500))).toBe('toDateTime(1700000000)');
    expect(sql`SELECT ${sql`${1} + ${2}`}`.text).toBe('SELECT 1 + 2');
  });

  it('refuses non-finite numbers and values it cannot type', () => {
    expect(() => literal(Number.NaN)).toThrow(/non-finite/);
    expect(() => literal({} as never)).toThrow(/unsupported/);
  });

  it('accepts identifiers only when they match the identifier pattern', () => {
    expect(sql.identifier('canopy.spans').text).toBe('canopy.spans');
    expect(() => sql.identifier('spans; DROP TABLE x')).toThrow(/invalid SQL identifier/);
    expect(() => sql.identifier('`x`')).toThrow(/invalid SQL identifier/);
  });

  it('allows raw text only from its allow-list', () => {
    expect(sql.raw('DESC').text).toBe('DESC');
    expect(() => sql.raw('DESC; DROP TABLE spans')).toThrow(/allow-list/);
  });

  it('builds the tenant predicate itself and marks the query as scoped', () => {
    const q = sql`SELECT count() FROM spans WHERE ${sql.tenant({ orgId: "o'1", workspaceIds: ['w1', 'w2'] })}`;
    expect(q.text).toBe("SELECT count() FROM spans WHERE (org_id = 'o\\'1' AND workspace_id IN ('w1', 'w2'))");
    expect(q.tenantScoped).toBe(true);
    expect(sql`SELECT 1 WHERE ${sql.tenant({ orgId: 'o', workspaceIds: [] })}`.text).toContain('AND 0)');
  });

  it('refuses to run a query over tenant data without a tenant predicate', async () => {
    const ch = createClickHouse({ url: 'http://127.0.0.1:1', database: 'x', user: 'default', password: '' });
    await expect(ch.query({ orgId: 'o', workspaceIds: ['w'] }, sql`SELECT * FROM spans`)).rejects.toThrow(/without a tenant predicate/);
    await ch.close();
  });

  it('lets AllTenants through explicitly', () => {
    expect(AllTenants.toString()).toContain('AllTenants');
  });
});
