import { afterAll, describe, expect, it } from 'vitest';
import { randomInt } from 'node:crypto';
import { AllTenants, createClickHouse, loadConfig, sql } from '../src/index.js';

const config = loadConfig(process.env);
const ch = createClickHouse({ ...config.clickhouse, database: 'default' });
afterAll(() => ch.close());

const HOSTILE = [
  "'",
  "\\'",
  '\\',
  "\\\\'; DROP TABLE x; --",
  '\0',
  'a\0b\0',
  '{x}',
  '{{x:String}}',
  '?',
  '$1',
  '\n\r\t\b\f\v\u0007',
  '\u0000\u0001\u001f\u007f',
  'ünïcödé ✓ 你好 🚀',
  '\u2028\u2029',
  '"double" `back`',
  "'' ''",
  '--',
  '/* c */',
  '',
];

/** Random strings over an alphabet weighted towards characters with meaning in SQL and escapes. */
function randomHostile(): string {
  const alphabet = ["'", '"', '\\', '\0', '\n', '{', '}', '`', ';', '-', '/', '*', 'x', '\u00e9', '\u{1F600}', '\u0001', '\t', '?', '$', ' '];
  let s = '';
  const n = randomInt(0, 24);
  for (let i = 0; i < n; i++) s += alphabet[randomInt(0, alphabet.length)];
  return s;
}

describe('SQL literals round-trip through the real ClickHouse as data', () => {
  it('returns every hostile string exactly as it went in', async () => {
    const inputs = [...HOSTILE, ...Array.from({ length: 300 }, randomHostile)];
    // One query per 50 values keeps the test fast while every value is its own literal.
    for (let i = 0; i < inputs.length; i += 50) {
      const chunk = inputs.slice(i, i + 50);
      const selects = sql.join(chunk.map((v, j) => sql`${v} AS ${sql.identifier(`v${j}`)}`));
      const [row] = await ch.query<Record<string, string>>(AllTenants, sql`SELECT ${selects}`);
      chunk.forEach((v, j) => expect(row?.[`v${j}`], JSON.stringify(v)).toBe(v));
    }
  });

  it('round-trips arrays of hostile strings and extreme numbers', async () => {
    const arr = HOSTILE.slice(0, 10);
    const [row] = await ch.query<{ a: string[]; big: string; neg: string; f: number }>(
      AllTenants,
      sql`SELECT ${arr} AS a, toUInt64(${18446744073709551615n}) AS big, toInt64(${-9223372036854775808n}) AS neg, ${0.1} AS f`,
    );
    expect(row?.a).toEqual(arr);
    expect(row?.big).toBe('18446744073709551615');
    expect(row?.neg).toBe('-9223372036854775808');
    expect(row?.f).toBe(0.1);
  });
});
