/**
 * The one way to build ClickHouse SQL. ClickHouse 18.16 has no server-side query
 * parameters, so every interpolated value becomes an escaped literal here; raw text
 * enters only as identifiers checked against a pattern or as keywords from an allow-list.
 */

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

/** Keywords that callers may splice in as raw text; anything else must be a value. */
const RAW_ALLOWED = new Set(['ASC', 'DESC', 'AND', 'OR', 'FINAL', '']);

export type SqlValue = string | number | bigint | boolean | null | Date | readonly SqlValue[] | Sql;

/** An immutable SQL fragment. `tenantScoped` records that a tenant predicate is inside. */
export class Sql {
  constructor(
    readonly text: string,
    readonly tenantScoped: boolean,
  ) {}
  toString(): string {
    return this.text;
  }
}

/** Tenant scope every query over tenant data runs in. */
export interface TenantScope {
  orgId: string;
  workspaceIds: readonly string[];
}

/** The explicit way round the tenant predicate, for migrations, retention and tests. */
export const AllTenants = Symbol('AllTenants');
export type QueryScope = TenantScope | typeof AllTenants;

const ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '\0': '\\0',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

/** Escapes a JS string as a ClickHouse single-quoted literal (same rules on 18.16 and current). */
export function quoteString(value: string): string {
  // eslint-disable-next-line no-control-regex
  return `'${value.replace(/[\\'\0\n\r\t\b\f\x01-\x07\x0b\x0e-\x1f\x7f]/g, (ch) => ESCAPES[ch] ?? `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`)}'`;
}

export function literal(value: SqlValue): string {
  if (value instanceof Sql) return value.text;
  if (value === null) return 'NULL';
  switch (typeof value) {
    case 'string':
      return quoteString(value);
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? '1' : '0';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`cannot use non-finite number ${value} in SQL`);
      return Number.isInteger(value) ? value.toString() : value.toPrecision(17);
    default:
      break;
  }
  if (value instanceof Date) {
    const ms = value.getTime();
    if (!Number.isFinite(ms)) throw new TypeError('cannot use an invalid Date in SQL');
    return `toDateTime(${Math.floor(ms / 1000)})`;
  }
  if (Array.isArray(value)) return `[${value.map(literal).join(', ')}]`;
  throw new TypeError(`unsupported SQL value of type ${typeof value}`);
}

function build(strings: TemplateStringsArray, values: readonly SqlValue[]): Sql {
  let text = strings[0] ?? '';
  let scoped = false;
  values.forEach((value, i) => {
    if (value instanceof Sql) scoped ||= value.tenantScoped;
    text += literal(value) + (strings[i + 1] ?? '');
  });
  return new Sql(text, scoped);
}

function identifier(name: string): Sql {
  if (!IDENTIFIER.test(name)) throw new TypeError(`invalid SQL identifier: ${JSON.stringify(name)}`);
  return new Sql(name, false);
}

function raw(keyword: string): Sql {
  if (!RAW_ALLOWED.has(keyword)) throw new TypeError(`raw SQL ${JSON.stringify(keyword)} is not on the allow-list`);
  return new Sql(keyword, false);
}

function join(parts: readonly Sql[], separator: ', ' | ' AND ' | ' OR ' = ', '): Sql {
  return new Sql(
    parts.map((p) => p.text).join(separator),
    parts.some((p) => p.tenantScoped),
  );
}

/** `org_id = … AND workspace_id IN (…)`; an empty workspace list matches nothing. */
function tenant(scope: TenantScope, alias?: string): Sql {
  const prefix = alias ? `${identifier(alias).text}.` : '';
  const ws = scope.workspaceIds.length
    ? `${prefix}workspace_id IN (${scope.workspaceIds.map(quoteString).join(', ')})`
    : '0';
  return new Sql(`(${prefix}org_id = ${quoteString(scope.orgId)} AND ${ws})`, true);
}

/** Marks a query as deliberately cross-tenant; only valid with the AllTenants scope. */
function allTenants(): Sql {
  return new Sql('1', true);
}

export const sql = Object.assign((strings: TemplateStringsArray, ...values: SqlValue[]) => build(strings, values), {
  identifier,
  raw,
  join,
  tenant,
  allTenants,
  empty: new Sql('', false),
});
