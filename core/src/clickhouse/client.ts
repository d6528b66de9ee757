import { ClickHouseError, ClickHouseLogLevel, createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import type { Readable } from 'node:stream';
import { StorageError, isNetworkError } from '../errors.js';
import { AllTenants, sql, type QueryScope, type Sql } from './sql.js';

export interface ClickHouseOptions {
  url: string;
  database: string;
  user: string;
  password: string;
  /** ms before a request is abandoned */
  requestTimeoutMs?: number;
  /** ClickHouse cluster name (CANOPY_CLICKHOUSE_CLUSTER): the tables are Distributed over replicated local tables */
  cluster?: string | undefined;
}

/** The typed surface the rest of Canopy uses; built once in main.ts and passed down. */
export interface ClickHouse {
  readonly database: string;
  /** the cluster the tables are spread over; undefined on one node */
  readonly cluster: string | undefined;
  /** Runs a SELECT; refuses a query without a tenant predicate unless the scope is AllTenants. */
  query<T>(scope: QueryScope, query: Sql): Promise<T[]>;
  /** DDL and other statements that return nothing. */
  command(statement: Sql): Promise<void>;
  /** Inserts pre-serialized JSONEachRow text. */
  insertJsonEachRow(table: string, body: string | Readable): Promise<void>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** ClickHouse error codes that mean "try again later", not "this data is bad". */
const TRANSIENT_CODES = new Set([
  '159', // TIMEOUT_EXCEEDED
  '164', // READONLY (replica lost ZooKeeper)
  '202', // TOO_MANY_SIMULTANEOUS_QUERIES
  '209', // SOCKET_TIMEOUT
  '210', // NETWORK_ERROR
  '225', // NO_ZOOKEEPER
  '241', // MEMORY_LIMIT_EXCEEDED
  '242', // TABLE_IS_READ_ONLY
  '252', // TOO_MANY_PARTS
  '279', // ALL_CONNECTION_TRIES_FAILED (a shard of a Distributed table is down)
  '285', // TOO_FEW_LIVE_REPLICAS
  '319', // UNKNOWN_STATUS_OF_INSERT (ZooKeeper lost during a replicated insert)
  '999', // KEEPER_EXCEPTION
]);

/**
 * Settings sent with each request on a cluster (none on one node):
 * - `insert_distributed_sync`: an INSERT into a Distributed table returns only once every
 *   shard has written its rows (the default queues them on the receiving node and
 *   acknowledges at once, which would let a worker complete a job whose rows a crash
 *   then loses).
 * - `distributed_product_mode = 'local'`: an `IN (SELECT … FROM spans)` inside a query on
 *   a Distributed table reads each shard's local table. Exact because every table is
 *   sharded by trace (see ddl.ts), and the default ('deny') refuses such queries.
 * - `wait_end_of_query` (statements): the HTTP status reflects an `ON CLUSTER` DDL's
 *   result on every node, not just its first rows.
 */
function clusterSettings(cluster: string | undefined, kind: 'query' | 'insert' | 'command'): ClickHouseSettings {
  if (!cluster) return {};
  if (kind === 'query') return { distributed_product_mode: 'local' };
  if (kind === 'insert') return { insert_distributed_sync: 1 };
  return { insert_distributed_sync: 1, distributed_product_mode: 'local', wait_end_of_query: 1 };
}

/**
 * The error code ClickHouse answered with, if the error is a server's answer. The client
 * parses it into `ClickHouseError.code` only from current servers' format (which ends in
 * `(TYPE_NAME)`); 18.16 answers `Code: 27, e.displayText() = …`, which reaches us as a
 * plain Error whose message is that body, so its leading code is read here.
 */
/** The error code ClickHouse answered with, if the error came from the server. */
export function serverErrorCode(err: unknown): string | undefined {
  if (err instanceof ClickHouseError) return err.code;
  if (err instanceof Error) return /^Code: (\d+)[.,] /.exec(err.message)?.[1];
  return undefined;
}

/**
 * Only an error ClickHouse itself answered with, and not one of TRANSIENT_CODES, means
 * the data or statement is refused. Anything without a server error code — a network
 * failure, the client's own request timeout (a plain "Timeout error."), a proxy's page —
 * says nothing about the data: try again later.
 */
export function classifyClickHouseError(err: unknown, what: string): StorageError {
  if (err instanceof StorageError) return err;
  const code = serverErrorCode(err);
  const transient = isNetworkError(err) || code === undefined || TRANSIENT_CODES.has(code);
  const message = err instanceof Error ? err.message : String(err);
  return new StorageError(transient ? 'clickhouse_unavailable' : 'clickhouse_rejected', `${what}: ${message}`, { cause: err });
}

export function createClickHouse(options: ClickHouseOptions): ClickHouse {
  const client: ClickHouseClient = createClient({
    url: options.url,
    database: options.database,
    username: options.user,
    password: options.password,
    request_timeout: options.requestTimeoutMs ?? 60_000,
    max_open_connections: 32,
    keep_alive: { enabled: true },
    compression: { request: false, response: false },
    // Failures are classified and logged by Canopy; the client's own stack dumps are noise.
    log: { level: ClickHouseLogLevel.OFF },
  });
  const cluster = options.cluster;
  return {
    database: options.database,
    cluster,
    async query<T>(scope: QueryScope, query: Sql): Promise<T[]> {
      if (scope !== AllTenants && !query.tenantScoped) {
        throw new TypeError('refusing a ClickHouse query over tenant data without a tenant predicate (use sql.tenant)');
      }
      try {
        const rs = await client.query({ query: query.text, format: 'JSONEachRow', clickhouse_settings: clusterSettings(cluster, 'query') });
        return await rs.json<T>();
      } catch (err) {
        throw classifyClickHouseError(err, 'ClickHouse query failed');
      }
    },
    async command(statement: Sql): Promise<void> {
      try {
        await client.command({ query: statement.text, clickhouse_settings: clusterSettings(cluster, 'command') });
      } catch (err) {
        throw classifyClickHouseError(err, 'ClickHouse statement failed');
      }
    },
    async insertJsonEachRow(table: string, body: string | Readable): Promise<void> {
      try {
        const { Readable: ReadableCtor } = await import('node:stream');
        const values = typeof body === 'string' ? ReadableCtor.from([body]) : body;
        const result = await client.exec({
          query: `INSERT INTO ${sql.identifier(table).text} FORMAT JSONEachRow`,
          values,
          clickhouse_settings: clusterSettings(cluster, 'insert'),
        });
        result.stream.resume();
        await new Promise<void>((resolve, reject) => {
          result.stream.once('end', resolve).once('close', resolve).once('error', reject);
        });
      } catch (err) {
        throw classifyClickHouseError(err, `insert into ${table} failed`);
      }
    },
    async ping(): Promise<boolean> {
      try {
        const r = await client.ping();
        return r.success;
      } catch {
        return false;
      }
    },
    async close(): Promise<void> {
      await client.close();
    },
  };
}
