export { loadConfig, describeConfig, configSchema, ConfigError, type CanopyConfig } from './config/config.js';
export { createLogger, type Logger } from './log.js';
export { StorageError, isNetworkError, type StorageErrorCode } from './errors.js';
export { newId } from './ids.js';

export { sql, Sql, AllTenants, quoteString, literal, type SqlValue, type TenantScope, type QueryScope } from './clickhouse/sql.js';
export { createClickHouse, classifyClickHouseError, type ClickHouse, type ClickHouseOptions } from './clickhouse/client.js';
export { clickhouseMigrations, type ClickHouseMigration, type SchemaContext } from './clickhouse/schema.js';
export { migrateClickHouse, type MigrationResult } from './clickhouse/migrate.js';

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

export {
  createOrganizationWithWorkspaces,
  findOrganizationByName,
  listWorkspaces,
  SLUG_PATTERN,
  type OrganizationRecord,
  type WorkspaceRecord,
  type BootstrappedWorkspace,
} from './tenancy/organizations.js';

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
export { uint64ToString, int64ToString, idToHex } from './otlp/scalars.js';
export {
  normalizeTraceRequest,
  describeRejections,
  type NormalizeContext,
  type NormalizeResult,
  type SpanRejectReason,
  type ServiceUsage,
} from './otlp/normalize.js';

export { SPANS_QUEUE, spanBatchSchema, cappedBackoffMs, type SpanBatch } from './queue/contract.js';
export { createSpanQueue, createRedis, type SpanQueue, type RedisOptions } from './queue/queue.js';
