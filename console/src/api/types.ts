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
  /** the summary misses spans of a trace longer than the search reads (totalSpanCount has them all) */
  truncated?: boolean;
  totalSpanCount?: number;
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
  scope: { name: string; version: string; attributes?: AttributeMap; schemaUrl?: string; droppedAttributesCount?: number };
  events: SpanEvent[];
  links: SpanLink[];
  depth?: number;
  children?: string[];
  droppedAttributesCount?: number;
  droppedEventsCount?: number;
  droppedLinksCount?: number;
  resourceDroppedAttributesCount?: number;
  /** text the ingest value limit cut: where, and its size as sent */
  truncatedFields?: TruncatedField[];
}

export interface TruncatedField {
  /** `name`, `status.message`, `attributes.<key>`, `resource.<key>`, `events.<i>.name`, …; `#key` at the end when the key was cut */
  field: string;
  originalBytes: number;
}

export interface TraceDetail {
  traceId: string;
  spans: Span[];
  truncated?: boolean;
  spanCount?: number;
  /** every span the trace has (above spanCount when truncated) */
  totalSpanCount?: number;
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
  /** groups with data; series holds the largest `limit` of them (truncated when some are left out) */
  totalGroups?: number;
  truncated?: boolean;
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

/** Spans the collector refused, by reason (the ingest ledger). */
export interface IngestRejected {
  invalid: number;
  quota: number;
  rateLimit: number;
  tooLargeRequests: number;
}

/**
 * The ledger's measures (core/src/ingest/ledger-schema.ts): spans accepted, refused, stored,
 * in open dead letters, in discarded ones, and still queued (accepted minus the rest).
 */
export interface IngestCounts {
  accepted: number;
  rejected: IngestRejected;
  stored: number;
  deadLettered: number;
  discarded: number;
  queued: number;
}

/**
 * One minute of one workspace (and one key, with `groupBy=key`; else `keyId` is null, and
 * `""` for spans stored before keys were recorded); minutes without activity are left out.
 */
export interface IngestMinute extends IngestCounts {
  minute: string;
  keyId?: string | null;
  workspaceId?: string;
  workspaceSlug?: string;
}

export interface IngestLag {
  pendingBatches: number;
  oldestPendingReceivedAt: string | null;
  lagMs: number;
}

export interface FlaggedMinute {
  workspaceId: string;
  minute: string;
  accepted: number;
  stored: number;
  deadLettered: number;
  discarded: number;
  /** accepted − (stored + deadLettered + discarded) */
  difference: number;
  firstFlaggedAt: string | null;
  checkedAt: string;
}

export interface IngestReconciliation {
  checkedThrough: string | null;
  flagged: FlaggedMinute[];
  /** flagged minutes in the range; above flagged.length when the list was cut */
  flaggedTotal?: number;
}

export interface IngestReport {
  workspaceId: string;
  from: string;
  to: string;
  series: IngestMinute[];
  totals: IngestCounts;
  lag: IngestLag;
  reconciliation: IngestReconciliation;
}

export interface OrgIngestReport {
  orgId?: string;
  from: string;
  to: string;
  series: IngestMinute[];
  totals: IngestCounts;
  workspaces: Array<{ workspaceId: string; workspaceSlug: string; lag: IngestLag }>;
  reconciliation?: IngestReconciliation;
}

export type DeadLetterStatus = 'open' | 'replayed' | 'discarded';

export interface DeadLetter {
  id: string;
  batchId: string;
  workspaceId: string;
  keyId: string | null;
  receivedAt: string;
  deadLetteredAt: string;
  updatedAt: string;
  spans: number;
  bytes: number;
  attempts: number;
  replayCount: number;
  status: DeadLetterStatus;
  error: { code: string; message: string };
}

export interface DeadLetterPage {
  deadLetters: DeadLetter[];
  nextCursor: string | null;
}

export interface DeadLetterDetail extends DeadLetter {
  firstRows: unknown[];
  rowCount: number;
}
