/**
 * The query API's wire shapes the console reads (DESIGN.md "Query API"; the zod schemas in
 * core/src/queries and query-api/src/management are the truth). Only what the console uses.
 */

export type OrgRole = 'owner' | 'admin' | 'billing' | 'member';
export type WorkspaceRole = 'admin' | 'developer' | 'viewer';
export type StatusCode = 'unset' | 'ok' | 'error';

export interface MyOrg {
  id: string;
  name: string;
  createdAt: string;
  role: OrgRole;
}

export interface Me {
  id: string;
  email: string;
  name: string;
  createdAt: string;
  orgs: MyOrg[];
}

export interface Workspace {
  id: string;
  orgId: string;
  slug: string;
  name: string;
  retentionDays: number;
  createdAt: string;
}

export interface Member {
  userId: string;
  email: string;
  name: string;
  role: OrgRole;
  joinedAt: string;
  workspaceRoles: Array<{ workspaceId: string; workspaceSlug: string; role: WorkspaceRole }>;
}

export interface ApiKey {
  id: string;
  orgId: string;
  workspaceId: string | null;
  name: string;
  prefix: string;
  scopes: string[];
  createdBy: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
}

export interface CreatedKey {
  id: string;
  key: string;
  prefix: string;
  scopes: string[];
}

export interface AuditEntry {
  id: string;
  orgId: string;
  actorType: 'user' | 'api_key' | 'system';
  actorId: string;
  action: string;
  targetType: string;
  targetId: string;
  before: unknown;
  after: unknown;
  sourceIp: string | null;
  createdAt: string;
}

export interface TraceSummary {
  traceId: string;
  rootServiceName: string;
  rootSpanName: string;
  startTimeUnixNano: string;
  endTimeUnixNano?: string;
  durationMs: number;
  spanCount: number;
  errorCount: number;
  services: string[];
}

export interface TraceSearchResult {
  traces: TraceSummary[];
  nextCursor: string | null;
}

export type AttributeMap = Record<string, unknown>;

export interface SpanEvent {
  timeUnixNano: string;
  name: string;
  attributes: AttributeMap;
  droppedAttributesCount?: number;
}

export interface SpanLink {
  traceId: string;
  spanId: string;
  traceState?: string;
  flags?: number;
  attributes: AttributeMap;
  droppedAttributesCount?: number;
}

export interface Span {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  traceState?: string;
  name: string;
  kind: string;
  serviceName: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  durationMs: number;
  status: { code: StatusCode; message: string };
  attributes: AttributeMap;
  resource: AttributeMap;
  scope: { name: string; version: string; attributes?: AttributeMap; schemaUrl?: string };
  events: SpanEvent[];
  links: SpanLink[];
  depth?: number;
  children?: string[];
  droppedAttributesCount?: number;
  droppedEventsCount?: number;
  droppedLinksCount?: number;
}

export interface TraceDetail {
  traceId: string;
  spans: Span[];
  truncated?: boolean;
  spanCount?: number;
  services?: string[];
}

export interface TimeseriesPoint {
  time: string;
  count?: number;
  errors?: number;
  errorRate?: number | null;
  p50Ms?: number | null;
  p90Ms?: number | null;
  p95Ms?: number | null;
  p99Ms?: number | null;
  calls?: number;
  inputTokens?: number;
  outputTokens?: number;
  costUsd?: string;
}

export interface TimeseriesResult {
  from: string;
  to: string;
  bucket: string;
  bucketSeconds: number;
  groupBy: 'none' | 'service' | 'name' | 'model';
  metrics: string[];
  series: Array<{ group: string; points: TimeseriesPoint[] }>;
}

export interface TokenMeasures {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens?: number;
  cacheCreationTokens?: number;
  reasoningTokens?: number;
  totalTokens?: number;
  costUsd: string;
}

export interface GenAiSummary {
  groupBy: string[];
  rows: Array<TokenMeasures & { model?: string; provider?: string; service?: string }>;
  totals: TokenMeasures;
}

export interface UsageMeasures {
  spans: number;
  bytes: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: string;
  [measure: string]: unknown;
}

export interface UsageRow extends UsageMeasures {
  workspaceId?: string;
  workspaceSlug?: string;
  day?: string;
  model?: string;
  service?: string;
}

export interface UsageReport {
  from: string;
  to: string;
  groupBy: string[];
  rows: UsageRow[];
  totals: UsageMeasures;
  unpricedModels?: string[];
  quota: { period: string; monthlySpanQuota: number | null; used: number; remaining: number | null };
}

export interface PriceEntry {
  model: string;
  inputPerMillion: string;
  outputPerMillion: string;
  cacheReadPerMillion: string | null;
  cacheCreationPerMillion: string | null;
}

export interface PriceList {
  currency: 'USD';
  prices: PriceEntry[];
}
