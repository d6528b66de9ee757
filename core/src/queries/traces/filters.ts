import { sql, type Sql } from '../../clickhouse/sql.js';
import { ValueType } from '../../otlp/types.js';

/**
 * Attribute filters of a trace search, and the query-string grammar that spells them:
 *
 * | parameter                       | meaning                                                        |
 * | ------------------------------- | -------------------------------------------------------------- |
 * | `attr.<key>=<value>`            | span attribute `<key>` equals `<value>` (its text form: `500`, `true`, `1.5`) |
 * | `resource.<key>=<value>`        | resource attribute `<key>` equals `<value>`                    |
 * | `attrNum.<key>=<op>:<number>`   | span attribute `<key>` is an int/double and compares: `eq ne gt gte lt lte` |
 * | `resourceNum.<key>=<op>:<number>` | the same on a resource attribute                             |
 * | `attrExists=<key>`              | the span has attribute `<key>` (repeatable)                    |
 * | `resourceExists=<key>`          | the resource has attribute `<key>` (repeatable)                |
 *
 * Every parameter may be repeated; all filters must hold, on one and the same span.
 */
export type AttributeTarget = 'span' | 'resource';
export const COMPARE_OPS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte'] as const;
export type CompareOp = (typeof COMPARE_OPS)[number];

export type AttributeFilter =
  | { target: AttributeTarget; key: string; kind: 'equals'; value: string }
  | { target: AttributeTarget; key: string; kind: 'exists' }
  | { target: AttributeTarget; key: string; kind: 'compare'; op: CompareOp; value: number };

export const MAX_ATTRIBUTE_FILTERS = 20;
export const MAX_ATTRIBUTE_KEY_LENGTH = 256;
export const MAX_ATTRIBUTE_VALUE_LENGTH = 4096;

const PREFIXES: ReadonlyArray<{ prefix: string; target: AttributeTarget; kind: 'equals' | 'compare' }> = [
  { prefix: 'attr.', target: 'span', kind: 'equals' },
  { prefix: 'resource.', target: 'resource', kind: 'equals' },
  { prefix: 'attrNum.', target: 'span', kind: 'compare' },
  { prefix: 'resourceNum.', target: 'resource', kind: 'compare' },
];
const EXISTS_PARAMS: Readonly<Record<string, AttributeTarget>> = { attrExists: 'span', resourceExists: 'resource' };

/** True for a query parameter name that belongs to the attribute grammar. */
export function isAttributeParam(name: string): boolean {
  return name in EXISTS_PARAMS || PREFIXES.some((p) => name.startsWith(p.prefix));
}

/** Parses one attribute parameter; returns the filters or an error message about it. */
export function parseAttributeParam(name: string, values: readonly string[]): AttributeFilter[] | string {
  const existsTarget = EXISTS_PARAMS[name];
  if (existsTarget) {
    const bad = values.find((k) => k.length === 0 || k.length > MAX_ATTRIBUTE_KEY_LENGTH);
    if (bad !== undefined) return `an attribute key must be 1–${MAX_ATTRIBUTE_KEY_LENGTH} characters`;
    return values.map((key) => ({ target: existsTarget, key, kind: 'exists' }));
  }
  const rule = PREFIXES.find((p) => name.startsWith(p.prefix));
  if (!rule) return 'not an attribute filter';
  const key = name.slice(rule.prefix.length);
  if (key.length === 0 || key.length > MAX_ATTRIBUTE_KEY_LENGTH) return `the attribute key after "${rule.prefix}" must be 1–${MAX_ATTRIBUTE_KEY_LENGTH} characters`;
  const out: AttributeFilter[] = [];
  for (const value of values) {
    if (value.length > MAX_ATTRIBUTE_VALUE_LENGTH) return `a value may be at most ${MAX_ATTRIBUTE_VALUE_LENGTH} characters`;
    if (rule.kind === 'equals') {
      out.push({ target: rule.target, key, kind: 'equals', value });
      continue;
    }
    const m = /^(eq|ne|gt|gte|lt|lte):(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)$/.exec(value);
    const n = m ? Number(m[2]) : NaN;
    if (!m || !Number.isFinite(n)) return `expected <op>:<number> with op one of ${COMPARE_OPS.join(', ')} (e.g. gte:500)`;
    out.push({ target: rule.target, key, kind: 'compare', op: m[1] as CompareOp, value: n });
  }
  return out;
}

function compare(column: Sql, op: CompareOp, value: number): Sql {
  switch (op) {
    case 'eq':
      return sql`${column} = ${value}`;
    case 'ne':
      return sql`${column} != ${value}`;
    case 'gt':
      return sql`${column} > ${value}`;
    case 'gte':
      return sql`${column} >= ${value}`;
    case 'lt':
      return sql`${column} < ${value}`;
    case 'lte':
      return sql`${column} <= ${value}`;
  }
}

/**
 * The condition on one `spans` row for a filter. `indexOf` + array subscripts are
 * vectorized (a lambda per row is ~1.5× slower on 18.16); they look at the first
 * occurrence of the key, and OTel SDKs keep attribute keys unique.
 */
export function attributeCondition(f: AttributeFilter): Sql {
  const keys = sql.identifier(f.target === 'span' ? 'attr_keys' : 'resource_keys');
  const at = sql`indexOf(${keys}, ${f.key})`;
  switch (f.kind) {
    case 'exists':
      return sql`has(${keys}, ${f.key})`;
    case 'equals': {
      const values = sql.identifier(f.target === 'span' ? 'attr_values' : 'resource_values');
      // A missing key reads as '' (index 0), so only an empty value needs the presence check.
      return f.value === '' ? sql`(has(${keys}, ${f.key}) AND ${values}[${at}] = '')` : sql`${values}[${at}] = ${f.value}`;
    }
    case 'compare': {
      const types = sql.identifier(f.target === 'span' ? 'attr_types' : 'resource_types');
      const numbers = sql.identifier(f.target === 'span' ? 'attr_numbers' : 'resource_numbers');
      // A missing key reads as type 0, so the type check also means "present".
      return sql`(${types}[${at}] IN (${ValueType.int}, ${ValueType.double}) AND ${compare(sql`${numbers}[${at}]`, f.op, f.value)})`;
    }
  }
}
