export { loadConfig, describeConfig, configSchema, ConfigError, type CanopyConfig } from './config/config.js';
export { createLogger, type Logger } from './log.js';
export { StorageError, isNetworkError, type StorageErrorCode } from './errors.js';
export { newId } from './ids.js';

export { sql, Sql, AllTenants, quoteString, literal, type SqlValue, type TenantScope, type QueryScope } from './clickhouse/sql.js';
export { createClickHouse, classifyClickHouseError, type ClickHouse, type ClickHouseOptions } from './clickhouse/client.js';
export { clickhouseMigrations, type ClickHouseMigration } from './clickhouse/schema.js';
export {
  createTable,
  createView,
  tableName,
  localTableName,
  onCluster,
  replicationPath,
  type SchemaContext,
  type TableSpec,
  type TableEngine,
  type ViewSpec,
} from './clickhouse/ddl.js';
export { migrateClickHouse, dropClickHouseDatabase, type MigrationResult } from './clickhouse/migrate.js';

export { createPgPool, ensurePgDatabase, withTransaction, type PgPool, type PgClient } from './postgres/pool.js';
export { pgMigrations, type PgMigration } from './postgres/schema.js';
export { migratePostgres } from './postgres/migrate.js';

export { generateSecret, hashSecret, sameHash, type KeyKind } from './keys/secrets.js';
export {
  API_KEY_SCOPES,
  createApiKey,
  findApiKeyByHash,
  revokeApiKey,
  type ApiKeyScope,
  type ApiKeyPrincipal,
  type CreatedApiKey,
  type NewApiKey,
} from './keys/store.js';
export { createKeyCache, type KeyCache, type KeyCacheOptions } from './keys/cache.js';



export type {
  OtlpTraceRequest,
  OtlpResourceSpans,
  OtlpScopeSpans,
  OtlpSpan,
  OtlpEvent,
  OtlpLink,
  OtlpKeyValue,
  OtlpAnyValue,
  Int64,
  LongLike,
  Bytes,
} from './otlp/types.js';
export { ValueType } from './otlp/types.js';
export {
  encodeValue,
  encodeAttributes,
  canonicalValue,
  canonicalKeyValues,
  decodeStoredValue,
  decodeStoredAttributes,
  plainValue,
  type EncodedValue,
  type EncodedAttributes,
} from './otlp/anyvalue.js';
export { uint64ToString, int64ToString, idToHex, longBitsToDecimal, durationNs } from './otlp/scalars.js';
export { DEFAULT_SPAN_LIMITS, capText, toWellFormed, truncationMarker, type SpanLimits } from './otlp/limits.js';
export {
  normalizeTraceRequest,
  describeRejections,
  groupsToJsonEachRow,
  type RowGroup,
  type NormalizeContext,
  type NormalizeResult,
  type SpanRejectReason,
  type ServiceUsage,
} from './otlp/normalize.js';

export { SPANS_QUEUE, spanBatchSchema, cappedBackoffMs, type SpanBatch } from './queue/contract.js';
export { createSpanQueue, createRedis, DEDUPE_TTL_MS, type SpanQueue, type RedisOptions } from './queue/queue.js';
export { pendingKey, markPending, clearPending, pendingSummaries, type PendingBatchRef, type PendingSummary } from './ingest/pending.js';

// The organization model's operations: what the management API and the `canopy` CLI call.
export { TenancyError, isTenancyError, translatePgError, type TenancyErrorCode } from './tenancy/errors.js';
export { inTransaction, type Db, type Queryable } from './tenancy/db.js';
export {
  SLUG_PATTERN,
  ORG_ROLES,
  WORKSPACE_ROLES,
  WORKSPACE_KEY_SCOPES,
  ACTOR_TYPES,
  slugSchema,
  nameSchema,
  emailSchema,
  orgRoleSchema,
  workspaceRoleSchema,
  retentionDaysSchema,
  idSchema,
  instantSchema,
  expiresAtSchema,
  workspaceKeyScopesSchema,
  actorSchema,
  createUserSchema,
  createOrganizationSchema,
  renameOrganizationSchema,
  updatePlanSchema,
  createWorkspaceSchema,
  updateWorkspaceSchema,
  addMemberSchema,
  inviteMemberSchema,
  setMemberRoleSchema,
  setWorkspaceMemberSchema,
  createWorkspaceKeySchema,
  createOrgUsageKeySchema,
  createPersonalTokenSchema,
  auditQuerySchema,
  bootstrapSchema,
  type OrgRole,
  type WorkspaceRole,
  type WorkspaceKeyScope,
  type Actor,
  type OrgRef,
  type WorkspaceRef,
  type CreateUserInput,
  type CreateOrganizationInput,
  type UpdatePlanInput,
  type CreateWorkspaceInput,
  type UpdateWorkspaceInput,
  type AddMemberInput,
  type InviteMemberInput,
  type CreateWorkspaceKeyInput,
  type CreateOrgUsageKeyInput,
  type CreatePersonalTokenInput,
  type AuditQuery,
  type BootstrapInput,
} from './tenancy/schemas.js';
export { createUser, getUser, findUserByEmail, type User } from './tenancy/users.js';
export {
  createOrganization,
  renameOrganization,
  getOrganization,
  listOrganizationsForUser,
  findOrganizationByName,
  createOrganizationWithWorkspaces,
  type Organization,
  type OrganizationRecord,
  type BootstrappedWorkspace,
} from './tenancy/organizations.js';
export { getPlan, updatePlan, type Plan } from './tenancy/plans.js';
export {
  createWorkspace,
  listWorkspaces,
  getWorkspace,
  getWorkspaceBySlug,
  lookupWorkspace,
  updateWorkspace,
  deleteWorkspace,
  type Workspace,
  type WorkspaceRecord,
} from './tenancy/workspaces.js';
export { listMembers, getMember, addMember, setMemberRole, removeMember, type Member, type MemberWorkspaceRole, type MemberCheck } from './tenancy/members.js';
export { inviteMember, listInvitations, revokeInvitation, acceptInvitation, INVITATION_TTL_DAYS, type Invitation } from './tenancy/invitations.js';
export { setWorkspaceMember, removeWorkspaceMember, listWorkspaceMembers, type WorkspaceMember } from './tenancy/workspace-members.js';
export { createWorkspaceKey, createOrgUsageKey, listKeys, lookupKey, revokeKey, type ApiKeyInfo } from './tenancy/keys.js';
export { createPersonalToken, listPersonalTokens, revokePersonalToken, resolvePersonalToken, type PersonalTokenInfo } from './tenancy/tokens.js';
export { recordAudit, listAudit, auditToCsv, csvCell, type AuditEntry, type AuditRecord, type AuditActorType } from './tenancy/audit.js';
export { bootstrapOrganization, slugifyName, BOOTSTRAP_ACTOR, type BootstrapResult } from './tenancy/bootstrap.js';

// Read side (issue 4): trace search/detail, analytics, GenAI usage and cost, org usage.
export {
  MAX_QUERY_RANGE_DAYS,
  MAX_USAGE_RANGE_DAYS,
  COMPARE_OPS,
  MAX_ATTRIBUTE_FILTERS,
  parseAttributeParam,
  isAttributeParam,
  encodeTraceCursor,
  decodeTraceCursor,
  TRACE_SORTS,
  traceSearchQuerySchema,
  traceSearchParamsSchema,
  traceSearchInputSchema,
  traceSearchResultSchema,
  traceSummarySchema,
  traceIdSchema,
  TRACE_SEARCH_DESCRIPTION,
  TRACE_STATUSES,
  DEFAULT_TRACE_LIMIT,
  MAX_TRACE_LIMIT,
  searchTraces,
  buildTraceSearchQuery,
  traceDetailSchema,
  spanDetailSchema,
  SPAN_KINDS,
  MAX_TRACE_SPANS,
  getTrace,
  buildTree,
  BUCKETS,
  BUCKET_NAMES,
  MAX_POINTS,
  autoBucket,
  timeseriesQuerySchema,
  timeseriesParamsSchema,
  timeseriesInputSchema,
  timeseriesResultSchema,
  TIMESERIES_DESCRIPTION,
  METRICS,
  SPAN_METRICS,
  TOKEN_METRICS,
  TIMESERIES_GROUPS,
  timeseries,
  GENAI_KEYS,
  TOKEN_KEYS,
  genaiSummary,
  genaiQuerySchema,
  genaiParamsSchema,
  genaiInputSchema,
  genaiSummarySchema,
  GENAI_GROUPS,
  tokenMeasuresSchema,
  parsePrice,
  formatPrice,
  formatUsd,
  costPico,
  DEFAULT_PRICES,
  getPriceList,
  setOrgPrices,
  listOrgPrices,
  createPriceBook,
  loadPriceBook,
  putPricesSchema,
  priceListSchema,
  priceEntrySchema,
  usageQuerySchema,
  usageParamsSchema,
  usageInputSchema,
  usageReportSchema,
  usageRowSchema,
  USAGE_GROUPS,
  USAGE_DESCRIPTION,
  usageReport,
  loadUsageContext,
  usageToCsv,
  type TimeRange,
  type AttributeFilter,
  type CompareOp,
  type TraceCursor,
  type TraceSort,
  type TraceSearchInput,
  type TraceSearchResult,
  type TraceSummary,
  type TraceStatus,
  type TraceDetail,
  type SpanDetail,
  type SpanKindName,
  type BucketName,
  type Metric,
  type TimeseriesInput,
  type TimeseriesResult,
  type TimeseriesPoint,
  type GenAiQuery,
  type GenAiSummary,
  type TokenMeasures,
  type ModelPrice,
  type PriceEntry,
  type PriceBook,
  type PriceList,
  type PutPricesInput,
  type UsageInput,
  type UsageReport,
  type UsageRow,
  type UsageContext,
} from './queries/index.js';

export { createHttpServer, type HttpServer, type HttpServerOptions } from './http/server.js';
