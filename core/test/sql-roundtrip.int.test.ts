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

  // The query layer (issue 4) puts user text into IN lists, lambdas over attribute
  // arrays, substring search and array literals; each must treat it as data.
  const BRACES = ['{}', '{x}', '{x:String}', '{{', '}}', "{'a'}", '{"k":"v"}', '{0}', '{$1}', '%', '_', '50%', 'a_b', '\\%'];

  it('keeps hostile text data inside IN lists, lambdas and array literals', async () => {
    const inputs = [...HOSTILE, ...BRACES, ...Array.from({ length: 60 }, randomHostile)];
    for (let i = 0; i < inputs.length; i += 25) {
      const chunk = inputs.slice(i, i + 25);
      const checks = sql.join(
        chunk.map(
          (v, j) => sql`tuple(
            ${v} IN (${sql.join(chunk.map((x) => sql`${x}`))}),
            has(${chunk}, ${v}),
            arrayExists((k, x) -> k = ${v} AND x = ${v}, [${v}], [${v}]),
            indexOf(${chunk}, ${v}),
            length(${v})
          ) AS ${sql.identifier(`c${j}`)}`,
        ),
      );
      const [row] = await ch.query<Record<string, [number, number, number, number, string]>>(AllTenants, sql`SELECT ${checks}`);
      chunk.forEach((v, j) => {
        const [inList, has, exists, index, length] = row![`c${j}`]!;
        expect([inList, has, exists, Number(index)], JSON.stringify(v)).toEqual([1, 1, 1, chunk.indexOf(v) + 1]);
        expect(Number(length), JSON.stringify(v)).toBe(Buffer.byteLength(v));
      });
    }
  });

  it('searches substrings literally: no pattern characters, case folded', async () => {
    const cases: Array<[haystack: string, needle: string, found: boolean]> = [
      ['GET /users/{id}', '{ID}', true],
      ['price: 50%', '50%', true],
      ['5000', '50%', false],
      ['a_b', 'A_B', true],
      ['axb', 'a_b', false],
      ["it's", "IT'S", true],
      ['back\\slash', '\\SLASH', true],
      ['ÜBER', 'über', true],
      ['nul\0byte', '\0', true],
      ['{}', '{}', true],
      ['anything', '%', false],
    ];
    const selects = sql.join(cases.map(([h, n], i) => sql`positionCaseInsensitiveUTF8(${h}, ${n}) > 0 AS ${sql.identifier(`p${i}`)}`));
    const [row] = await ch.query<Record<string, number>>(AllTenants, sql`SELECT ${selects}`);
    cases.forEach(([h, n, found], i) => expect(row?.[`p${i}`], `${h} ~ ${n}`).toBe(found ? 1 : 0));
  });
});
