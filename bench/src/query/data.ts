import { sql, type ClickHouse, type Sql, type SqlValue } from '@canopy/core';

/**
 * Realistic trace data generated inside ClickHouse: `INSERT INTO spans SELECT … FROM
 * numbers(N)`, so the materialized views (trace_index, trace_lookup, usage_daily,
 * ingest_batches, genai_spans) fill exactly as real ingest fills them, at a few hundred
 * thousand spans per second instead of the collector's rate.
 *
 * Spans come in blocks: a fixed interleaving of trace templates (browse, cart, checkout,
 * login, health check, GenAI assistant). Row `n` is position `n % BLOCK` of block
 * `n / BLOCK`; the position says which template span it is. Everything that varies per
 * trace (workspace, start, duration, errors, user, model) comes from a hash of the trace
 * number, everything per span (token counts) from a hash of `n`.
 */

type AttrType = 1 | 3; // ValueType.string, ValueType.int
/** `[key, type, value]`; a value starting with `$` is filled per row (see PLACEHOLDERS). */
type Attr = readonly [string, AttrType, string];

interface SpanSpec {
  service: string;
  /** `$model` is replaced by the call's model */
  name: string;
  kind: 1 | 2 | 3; // internal, server, client
  /** index of the parent in the trace, -1 for the root */
  parent: number;
  /** start and duration as permille of the trace's duration */
  at: number;
  len: number;
  scope: string;
  attrs: readonly Attr[];
}

const S = 1 as const;
const I = 3 as const;

const serverAttrs = (method: string, route: string, front?: { path: string }): Attr[] => [
  ['http.request.method', S, method],
  ['http.route', S, route],
  ['url.path', S, front?.path ?? route],
  ['url.scheme', S, 'https'],
  ['http.response.status_code', I, '$status'],
  ['server.address', S, 'shop.example.com'],
  ['network.protocol.version', S, '1.1'],
  ...(front ? ([['user.id', S, '$user'], ['user_agent.original', S, 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15']] as Attr[]) : []),
];
const innerServer = (method: string, route: string): Attr[] => [
  ['http.request.method', S, method],
  ['http.route', S, route],
  ['url.path', S, route.replace(':id', '$item')],
  ['http.response.status_code', I, '$status'],
  ['server.address', S, 'svc.cluster.local'],
];
const db = (system: string, namespace: string, query: readonly [op: string, text: string]): Attr[] => [
  ['db.system.name', S, system],
  ['db.namespace', S, namespace],
  ['db.operation.name', S, query[0]],
  ['db.query.text', S, query[1]],
  ['server.address', S, `${system}.svc.cluster.local`],
  ['server.port', I, system === 'postgresql' ? '5432' : '6379'],
];
const genai = (operation: string, model: string, output: boolean): Attr[] => [
  ['gen_ai.operation.name', S, operation],
  ['gen_ai.provider.name', S, model === '$model' ? '$provider' : 'openai'],
  ['gen_ai.request.model', S, model],
  ['gen_ai.response.model', S, model === '$model' ? '$rmodel' : model],
  ['gen_ai.usage.input_tokens', I, '$in'],
  ...(output
    ? ([
        ['gen_ai.usage.output_tokens', I, '$out'],
        ['gen_ai.usage.cache_read.input_tokens', I, '$cached'],
        ['gen_ai.response.finish_reasons', S, '["stop"]'],
        ['gen_ai.request.temperature', S, '0.2'],
      ] as Attr[])
    : []),
  ['server.address', S, model === '$model' ? '$llmhost' : 'api.openai.com'],
];

const HTTP = '@opentelemetry/instrumentation-http';
const PG = '@opentelemetry/instrumentation-pg';
const REDIS = '@opentelemetry/instrumentation-ioredis';
const GENAI = 'opentelemetry.instrumentation.openai_v2';
const APP = 'shop';

interface Template {
  name: string;
  /** typical trace duration, ms */
  baseMs: number;
  /** http.response.status_code of the root when the client erred */
  clientError: number;
  spans: SpanSpec[];
}

const TEMPLATES: Record<string, Template> = {
  browse: {
    name: 'browse',
    baseMs: 45,
    clientError: 404,
    spans: [
      { service: 'frontend', name: 'GET /api/items/:id', kind: 2, parent: -1, at: 0, len: 1000, scope: HTTP, attrs: serverAttrs('GET', '/api/items/:id', { path: '/api/items/$item' }) },
      { service: 'inventory', name: 'GET /items/:id', kind: 2, parent: 0, at: 60, len: 820, scope: HTTP, attrs: innerServer('GET', '/items/:id') },
      { service: 'inventory', name: 'GET', kind: 3, parent: 1, at: 90, len: 40, scope: REDIS, attrs: db('redis', '0', ['GET', 'GET item:$item']) },
      { service: 'inventory', name: 'SELECT inventory.items', kind: 3, parent: 1, at: 150, len: 600, scope: PG, attrs: db('postgresql', 'inventory', ['SELECT', 'SELECT id, sku, name, price, stock FROM items WHERE id = $1']) },
    ],
  },
  cart: {
    name: 'cart',
    baseMs: 80,
    clientError: 400,
    spans: [
      { service: 'frontend', name: 'POST /api/cart', kind: 2, parent: -1, at: 0, len: 1000, scope: HTTP, attrs: serverAttrs('POST', '/api/cart', { path: '/api/cart' }) },
      { service: 'cart', name: 'POST /cart/items', kind: 2, parent: 0, at: 30, len: 930, scope: HTTP, attrs: innerServer('POST', '/cart/items') },
      { service: 'cart', name: 'SELECT shop.carts', kind: 3, parent: 1, at: 50, len: 200, scope: PG, attrs: db('postgresql', 'shop', ['SELECT', 'SELECT id, user_id, items FROM carts WHERE user_id = $1 FOR UPDATE']) },
      { service: 'cart', name: 'HGET', kind: 3, parent: 1, at: 260, len: 30, scope: REDIS, attrs: db('redis', '0', ['HGET', 'HGET cart:? total']) },
      { service: 'inventory', name: 'GET /items/:id', kind: 2, parent: 1, at: 300, len: 330, scope: HTTP, attrs: innerServer('GET', '/items/:id') },
      { service: 'inventory', name: 'SELECT inventory.items', kind: 3, parent: 4, at: 330, len: 250, scope: PG, attrs: db('postgresql', 'inventory', ['SELECT', 'SELECT id, sku, name, price, stock FROM items WHERE id = $1']) },
      { service: 'cart', name: 'UPDATE shop.carts', kind: 3, parent: 1, at: 700, len: 220, scope: PG, attrs: db('postgresql', 'shop', ['UPDATE', 'UPDATE carts SET items = $2, updated_at = now() WHERE id = $1']) },
    ],
  },
  checkout: {
    name: 'checkout',
    baseMs: 320,
    clientError: 422,
    spans: [
      { service: 'frontend', name: 'POST /api/checkout', kind: 2, parent: -1, at: 0, len: 1000, scope: HTTP, attrs: serverAttrs('POST', '/api/checkout', { path: '/api/checkout' }) },
      { service: 'checkout', name: 'POST /checkout', kind: 2, parent: 0, at: 20, len: 960, scope: HTTP, attrs: innerServer('POST', '/checkout') },
      { service: 'checkout', name: 'validate_cart', kind: 1, parent: 1, at: 40, len: 60, scope: APP, attrs: [['code.function.name', S, 'validateCart'], ['app.cart.items', I, '$items']] },
      { service: 'cart', name: 'GET /cart', kind: 2, parent: 1, at: 110, len: 120, scope: HTTP, attrs: innerServer('GET', '/cart') },
      { service: 'cart', name: 'SELECT shop.carts', kind: 3, parent: 3, at: 120, len: 80, scope: PG, attrs: db('postgresql', 'shop', ['SELECT', 'SELECT id, user_id, items FROM carts WHERE user_id = $1']) },
      { service: 'inventory', name: 'POST /reservations', kind: 2, parent: 1, at: 240, len: 180, scope: HTTP, attrs: innerServer('POST', '/reservations') },
      { service: 'inventory', name: 'UPDATE inventory.stock', kind: 3, parent: 5, at: 260, len: 120, scope: PG, attrs: db('postgresql', 'inventory', ['UPDATE', 'UPDATE stock SET reserved = reserved + $2 WHERE sku = $1 AND available >= $2']) },
      { service: 'payments', name: 'POST /charges', kind: 2, parent: 1, at: 430, len: 420, scope: HTTP, attrs: innerServer('POST', '/charges') },
      {
        service: 'payments',
        name: 'POST',
        kind: 3,
        parent: 7,
        at: 450,
        len: 350,
        scope: HTTP,
        attrs: [['http.request.method', S, 'POST'], ['url.full', S, 'https://api.stripe.com/v1/payment_intents'], ['server.address', S, 'api.stripe.com'], ['server.port', I, '443'], ['http.response.status_code', I, '$status']],
      },
      { service: 'payments', name: 'INSERT shop.payments', kind: 3, parent: 7, at: 810, len: 30, scope: PG, attrs: db('postgresql', 'shop', ['INSERT', 'INSERT INTO payments (order_id, amount, currency, provider_ref) VALUES ($1, $2, $3, $4)']) },
      { service: 'checkout', name: 'INSERT shop.orders', kind: 3, parent: 1, at: 860, len: 60, scope: PG, attrs: db('postgresql', 'shop', ['INSERT', 'INSERT INTO orders (user_id, cart_id, total) VALUES ($1, $2, $3) RETURNING id']) },
      { service: 'checkout', name: 'publish order.created', kind: 1, parent: 1, at: 930, len: 30, scope: APP, attrs: [['messaging.system', S, 'kafka'], ['messaging.destination.name', S, 'orders'], ['messaging.operation.type', S, 'publish']] },
    ],
  },
  login: {
    name: 'login',
    baseMs: 150,
    clientError: 401,
    spans: [
      { service: 'frontend', name: 'POST /api/login', kind: 2, parent: -1, at: 0, len: 1000, scope: HTTP, attrs: serverAttrs('POST', '/api/login', { path: '/api/login' }) },
      { service: 'auth', name: 'POST /sessions', kind: 2, parent: 0, at: 20, len: 950, scope: HTTP, attrs: innerServer('POST', '/sessions') },
      { service: 'auth', name: 'SELECT auth.users', kind: 3, parent: 1, at: 40, len: 100, scope: PG, attrs: db('postgresql', 'auth', ['SELECT', 'SELECT id, password_hash, disabled FROM users WHERE email = $1']) },
      { service: 'auth', name: 'bcrypt.compare', kind: 1, parent: 1, at: 150, len: 750, scope: APP, attrs: [['code.function.name', S, 'verifyPassword']] },
      { service: 'auth', name: 'SET', kind: 3, parent: 1, at: 910, len: 40, scope: REDIS, attrs: db('redis', '1', ['SET', 'SET session:? ? EX 86400']) },
    ],
  },
  health: {
    name: 'health',
    baseMs: 2,
    clientError: 503,
    spans: [{ service: 'frontend', name: 'GET /health', kind: 2, parent: -1, at: 0, len: 1000, scope: HTTP, attrs: serverAttrs('GET', '/health') }],
  },
  assistant: {
    name: 'assistant',
    baseMs: 4200,
    clientError: 429,
    spans: [
      { service: 'frontend', name: 'POST /api/assistant', kind: 2, parent: -1, at: 0, len: 1000, scope: HTTP, attrs: serverAttrs('POST', '/api/assistant', { path: '/api/assistant' }) },
      { service: 'assistant', name: 'POST /chat', kind: 2, parent: 0, at: 10, len: 980, scope: HTTP, attrs: innerServer('POST', '/chat') },
      { service: 'assistant', name: 'embeddings text-embedding-3-small', kind: 3, parent: 1, at: 15, len: 40, scope: GENAI, attrs: genai('embeddings', 'text-embedding-3-small', false) },
      { service: 'assistant', name: 'SELECT rag.documents', kind: 3, parent: 1, at: 60, len: 80, scope: PG, attrs: db('postgresql', 'rag', ['SELECT', 'SELECT id, chunk FROM documents ORDER BY embedding <=> $1 LIMIT 8']) },
      { service: 'assistant', name: 'chat $model', kind: 3, parent: 1, at: 150, len: 500, scope: GENAI, attrs: genai('chat', '$model', true) },
      { service: 'assistant', name: 'execute_tool search_catalog', kind: 1, parent: 1, at: 660, len: 60, scope: APP, attrs: [['gen_ai.operation.name', S, 'execute_tool'], ['gen_ai.tool.name', S, 'search_catalog']] },
      { service: 'inventory', name: 'GET /items/search', kind: 2, parent: 5, at: 670, len: 40, scope: HTTP, attrs: innerServer('GET', '/items/search') },
      { service: 'assistant', name: 'chat $model', kind: 3, parent: 1, at: 730, len: 260, scope: GENAI, attrs: genai('chat', '$model', true) },
    ],
  },
};

/** One block: traces in this order, repeated (browse 4, cart 3, checkout 2, health 2, login 1, assistant 1). */
const BLOCK_ORDER = ['browse', 'cart', 'health', 'checkout', 'browse', 'assistant', 'cart', 'browse', 'login', 'checkout', 'health', 'cart', 'browse'] as const;

const SERVICES: Record<string, { version: string; language: string; pods: number }> = {
  frontend: { version: '3.14.2', language: 'nodejs', pods: 6 },
  checkout: { version: '2.7.0', language: 'go', pods: 3 },
  cart: { version: '1.22.5', language: 'nodejs', pods: 3 },
  inventory: { version: '5.1.1', language: 'java', pods: 4 },
  payments: { version: '1.9.3', language: 'go', pods: 2 },
  auth: { version: '4.0.8', language: 'nodejs', pods: 2 },
  assistant: { version: '0.12.0', language: 'python', pods: 2 },
};

/** [request model, response model, provider, host] — the chat model of an assistant trace, by hash. */
const MODELS: ReadonlyArray<readonly [string, string, string, string]> = [
  ['gpt-4o-mini', 'gpt-4o-mini-2024-07-18', 'openai', 'api.openai.com'],
  ['gpt-4o-mini', 'gpt-4o-mini-2024-07-18', 'openai', 'api.openai.com'],
  ['gpt-4o', 'gpt-4o-2024-08-06', 'openai', 'api.openai.com'],
  ['gpt-4.1-mini', 'gpt-4.1-mini-2025-04-14', 'openai', 'api.openai.com'],
  ['claude-sonnet-4-5', 'claude-sonnet-4-5-20250929', 'anthropic', 'api.anthropic.com'],
  ['claude-haiku-4-5', 'claude-haiku-4-5-20251001', 'anthropic', 'api.anthropic.com'],
];

interface Position {
  template: Template;
  traceInBlock: number;
  index: number;
  spec: SpanSpec;
  last: boolean;
}

const POSITIONS: Position[] = BLOCK_ORDER.flatMap((name, traceInBlock) => {
  const template = TEMPLATES[name]!;
  return template.spans.map((spec, index) => ({ template, traceInBlock, index, spec, last: index === template.spans.length - 1 }));
});

/** Spans per block and traces per block. */
export const BLOCK_SPANS = POSITIONS.length;
export const BLOCK_TRACES = BLOCK_ORDER.length;
/** Share of the spans that carry GenAI token usage. */
export const GENAI_SHARE = POSITIONS.filter((p) => p.spec.scope === GENAI).length / BLOCK_SPANS;

/** Workspaces by share of traces: 50 %, 30 %, 20 %. */
export const WORKSPACE_SHARES = [0.5, 0.3, 0.2] as const;

/** The attribute filters the benchmark searches with, as query parameters; they match the data above. */
export const FILTERS = {
  route: { 'attr.http.route': '/api/checkout' },
  status: { 'attrNum.http.response.status_code': 'gte:500' },
  /** one user among 50 000: too rare to fill a page, so newest-first search reads the whole range */
  rareUser: { 'attr.user.id': 'user-4242' },
} as const;

const RESOURCE_KEYS = ['service.name', 'service.version', 'service.namespace', 'host.name', 'k8s.pod.name', 'k8s.namespace.name', 'deployment.environment.name', 'telemetry.sdk.name', 'telemetry.sdk.language', 'telemetry.sdk.version'];

function resourceValues(service: string): string[] {
  const s = SERVICES[service]!;
  return [service, s.version, 'shop', `$pod`, '$pod', 'shop', 'production', 'opentelemetry', s.language, '1.30.0'];
}

const PLACEHOLDERS = ['status', 'user', 'item', 'items', 'model', 'rmodel', 'provider', 'llmhost', 'in', 'out', 'cached', 'pod'] as const;
type Placeholder = (typeof PLACEHOLDERS)[number];

/** `'/api/items/$item'` → `['/api/items/', index of item + 1]`; a plain value → `[value, 0]`. */
function splitValue(v: string): [string, number] {
  const m = /^(.*)\$([a-z]+)$/.exec(v);
  const i = m ? PLACEHOLDERS.indexOf(m[2] as Placeholder) : -1;
  return m && i >= 0 ? [m[1]!, i + 1] : [v, 0];
}

const per = <T extends SqlValue>(f: (p: Position) => T): T[] => POSITIONS.map(f);

/**
 * The INSERT for spans [offset, offset + count) of a data set of `total` spans spread
 * evenly over [fromSec, toSec). `workspaces` receive WORKSPACE_SHARES of the traces.
 */
export function insertSpans(opts: { orgId: string; workspaces: readonly [string, string, string]; salt: string; offset: number; count: number; total: number; fromSec: number; toSec: number }): Sql {
  const { orgId, workspaces, salt } = opts;
  const traces = Math.ceil((opts.total / BLOCK_SPANS) * BLOCK_TRACES);
  const spacingNs = BigInt(Math.floor(((opts.toSec - opts.fromSec) * 1e9) / traces));
  const fromNs = BigInt(opts.fromSec) * 1_000_000_000n;
  const at = (column: Sql): Sql => sql`arrayElement(${column}, pos + 1)`;
  const arr = <T extends SqlValue>(f: (p: Position) => T): Sql => at(sql`${per(f)}`);
  const [w1, w2, w3] = workspaces;
  const cut1 = Math.round(WORKSPACE_SHARES[0] * 1000);
  const cut2 = cut1 + Math.round(WORKSPACE_SHARES[1] * 1000);

  const status = sql`toString(if(failed, 500, if(client_failed AND sidx = 0, client_error, 200)))`;
  const cached = sql`if(bitShiftRight(hs, 32) % 3 = 0, intDiv(300 + hs % 6000, 2), 0)`;
  // One value per placeholder, computed once per row, in PLACEHOLDERS order.
  const values: Record<Placeholder, Sql> = {
    status,
    user: sql`concat('user-', toString(bitShiftRight(h, 44) % 50000))`,
    item: sql`toString(bitShiftRight(h, 12) % 20000)`,
    items: sql`toString(1 + bitShiftRight(h, 16) % 9)`,
    model: sql`arrayElement(${MODELS.map((m) => m[0])}, model_no)`,
    rmodel: sql`arrayElement(${MODELS.map((m) => m[1])}, model_no)`,
    provider: sql`arrayElement(${MODELS.map((m) => m[2])}, model_no)`,
    llmhost: sql`arrayElement(${MODELS.map((m) => m[3])}, model_no)`,
    in: sql`toString(300 + hs % 6000)`,
    out: sql`toString(20 + bitShiftRight(hs, 16) % 900)`,
    cached: sql`toString(${cached})`,
    pod: sql`concat(v_service, '-7d9f8b6c5-', toString(bitShiftRight(h, 50) % pods))`,
  };
  const ph = sql`[${sql.join(PLACEHOLDERS.map((k) => values[k]))}]`;
  // value = literal prefix + placeholder value (index 0 reads as '')
  const attrValues = sql`arrayMap((l, i) -> concat(l, ph[i]), a_lit, a_idx)`;
  const resValues = sql`arrayMap((l, i) -> concat(l, ph[i]), r_lit, r_idx)`;
  // Row-level variables (inner query), then the spans columns in table order (outer query).
  const inner = sql`SELECT
      n,
      n % ${BLOCK_SPANS} AS pos,
      intDiv(n, ${BLOCK_SPANS}) * ${BLOCK_TRACES} + ${arr((p) => p.traceInBlock)} AS trace_no,
      ${arr((p) => p.index)} AS sidx,
      ${arr((p) => p.spec.parent)} AS pidx,
      ${arr((p) => (p.last ? 1 : 0))} AS is_last,
      ${arr((p) => p.spec.kind)} AS v_kind,
      ${arr((p) => splitValue(p.spec.name)[0])} AS name_lit,
      ${arr((p) => splitValue(p.spec.name)[1])} AS name_idx,
      ${arr((p) => p.spec.service)} AS v_service,
      ${arr((p) => p.spec.scope)} AS v_scope,
      ${arr((p) => p.spec.at)} AS at_pm,
      ${arr((p) => p.spec.len)} AS len_pm,
      ${arr((p) => p.template.baseMs)} AS base_ms,
      ${arr((p) => p.template.clientError)} AS client_error,
      ${arr((p) => p.spec.attrs.map((a) => a[0]))} AS a_keys,
      ${arr((p) => p.spec.attrs.map((a) => a[1]))} AS a_types,
      ${arr((p) => p.spec.attrs.map((a) => splitValue(a[2])[0]))} AS a_lit,
      ${arr((p) => p.spec.attrs.map((a) => splitValue(a[2])[1]))} AS a_idx,
      ${arr((p) => resourceValues(p.spec.service).map((v) => splitValue(v)[0]))} AS r_lit,
      ${arr((p) => resourceValues(p.spec.service).map((v) => splitValue(v)[1]))} AS r_idx,
      ${arr((p) => SERVICES[p.spec.service]!.pods)} AS pods,
      cityHash64(${salt}, trace_no) AS h,
      cityHash64(${salt}, n) AS hs,
      ${fromNs} + trace_no * ${spacingNs} + h % ${spacingNs} AS trace_start,
      toUInt64(base_ms * 1000000 * (0.4 + 3.0 * pow((bitShiftRight(h, 8) % 10000) / 10000., 4))) AS trace_dur,
      bitShiftRight(h, 24) % 1000 AS fate,
      fate < 15 AS failed,
      fate >= 15 AND fate < 45 AS client_failed,
      bitShiftRight(h, 34) % ${MODELS.length} + 1 AS model_no,
      ${ph} AS ph,
      ${attrValues} AS attr_vals,
      ${resValues} AS res_values
    FROM (SELECT number + ${opts.offset} AS n FROM numbers(${opts.count}))`;

  const numbers = (types: Sql, values: Sql): Sql => sql`arrayMap((t, v) -> if(t = 3, toFloat64OrZero(v), toFloat64(0)), ${types}, ${values})`;
  const exception = JSON.stringify([
    { key: 'exception.type', value: { stringValue: 'UpstreamError' } },
    { key: 'exception.message', value: { stringValue: 'upstream request failed: connection reset by peer' } },
  ]);

  return sql`INSERT INTO spans (org_id, workspace_id, timestamp, trace_id, span_id, parent_span_id, trace_state, flags, name, kind,
      start_time_unix_nano, end_time_unix_nano, duration_ns, status_code, status_message, service_name,
      resource_keys, resource_types, resource_values, resource_numbers, resource_dropped_attributes_count, resource_schema_url,
      scope_name, scope_version, scope_attributes, scope_dropped_attributes_count, scope_schema_url,
      attr_keys, attr_types, attr_values, attr_numbers, dropped_attributes_count,
      events_time_unix_nano, events_name, events_attributes, events_dropped_attributes_count, dropped_events_count,
      links_trace_id, links_span_id, links_trace_state, links_flags, links_attributes, links_dropped_attributes_count, dropped_links_count,
      size_bytes, batch_id, ingested_at)
    SELECT
      ${orgId},
      multiIf(h % 1000 < ${cut1}, ${w1}, h % 1000 < ${cut2}, ${w2}, ${w3}),
      toDateTime(intDiv(start_ns, 1000000000)),
      lower(hex(MD5(concat(${salt}, 't', toString(trace_no))))),
      substring(lower(hex(MD5(concat(${salt}, 's', toString(n))))), 1, 16),
      if(pidx < 0, '', substring(lower(hex(MD5(concat(${salt}, 's', toString(n - sidx + pidx))))), 1, 16)),
      '',
      toUInt32(1),
      concat(name_lit, ph[name_idx]),
      toUInt8(v_kind),
      trace_start + intDiv(trace_dur * at_pm, 1000) + sidx * 1000 AS start_ns,
      start_ns + greatest(intDiv(trace_dur * len_pm, 1000), toUInt64(1000)) AS end_ns,
      end_ns - start_ns,
      toUInt8(if(failed AND (sidx = 0 OR is_last OR v_scope = ${HTTP}), 2, 0)) AS status,
      if(status = 2, 'upstream request failed', ''),
      v_service,
      ${RESOURCE_KEYS} AS res_keys,
      arrayMap(k -> toUInt8(1), res_keys),
      res_values,
      arrayMap(k -> toFloat64(0), res_keys),
      toUInt32(0),
      'https://opentelemetry.io/schemas/1.30.0',
      v_scope,
      if(v_scope = ${APP}, ${SERVICES.frontend!.version}, '0.57.0'),
      '',
      toUInt32(0),
      '',
      a_keys,
      a_types,
      attr_vals,
      ${numbers(sql`a_types`, sql`attr_vals`)},
      toUInt32(0),
      arraySlice([end_ns], 1, status = 2 AND is_last),
      arraySlice(['exception'], 1, status = 2 AND is_last),
      arraySlice([${exception}], 1, status = 2 AND is_last),
      arraySlice([toUInt32(0)], 1, status = 2 AND is_last),
      toUInt32(0),
      emptyArrayString(), emptyArrayString(), emptyArrayString(), emptyArrayUInt32(), emptyArrayString(), emptyArrayUInt32(),
      toUInt32(0),
      toUInt32(520 + length(name_lit) + arraySum(arrayMap(x -> length(x) + 24, arrayConcat(a_keys, attr_vals, res_keys, res_values)))),
      concat(${salt}, '-', toString(intDiv(n, 500))),
      toDateTime(intDiv(end_ns, 1000000000) + 2)
    FROM (${inner})`;
}

/** Inserts `total` spans in chunks, `parallel` INSERTs at a time (numbers() is one stream each). */
export async function generateSpans(
  clickhouse: ClickHouse,
  opts: { orgId: string; workspaces: readonly [string, string, string]; salt: string; total: number; fromSec: number; toSec: number; chunk?: number; parallel?: number; progress?: (done: number) => void },
): Promise<void> {
  const chunk = opts.chunk ?? 500_000;
  const offsets: number[] = [];
  for (let off = 0; off < opts.total; off += chunk) offsets.push(off);
  let done = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < offsets.length) {
      const offset = offsets[next++]!;
      const count = Math.min(chunk, opts.total - offset);
      await clickhouse.command(insertSpans({ ...opts, offset, count }));
      done += count;
      opts.progress?.(done);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.parallel ?? 2) }, worker));
}
