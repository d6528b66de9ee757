import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
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
}

/** The typed surface the rest of Canopy uses; built once in main.ts and passed down. */
export interface ClickHouse {
  readonly database: string;
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
  '241', // MEMORY_LIMIT_EXCEEDED
  '242', // TABLE_IS_READ_ONLY
  '252', // TOO_MANY_PARTS
  '999', // KEEPER_EXCEPTION
]);

export function classifyClickHouseError(err: unknown, what: string): StorageError {
  if (err instanceof StorageError) return err;
  const code = (err as { code?: unknown }).code;
  const transient = isNetworkError(err) || (typeof code === 'string' && TRANSIENT_CODES.has(code));
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
  return {
    database: options.database,
    async query<T>(scope: QueryScope, query: Sql): Promise<T[]> {
      if (scope !== AllTenants && !query.tenantScoped) {
        throw new TypeError('refusing a ClickHouse query over tenant data without a tenant predicate (use sql.tenant)');
      }
      try {
        const rs = await client.query({ query: query.text, format: 'JSONEachRow' });
        return await rs.json<T>();
      } catch (err) {
        throw classifyClickHouseError(err, 'ClickHouse query failed');
      }
    },
    async command(statement: Sql): Promise<void> {
      try {
        await client.command({ query: statement.text });
      } catch (err) {
        throw classifyClickHouseError(err, 'ClickHouse statement failed');
      }
    },
    async insertJsonEachRow(table: string, body: string | Readable): Promise<void> {
      try {
        const { Readable: ReadableCtor } = await import('node:stream');
        const values = typeof body === 'string' ? ReadableCtor.from([body]) : body;
        const result = await client.exec({ query: `INSERT INTO ${sql.identifier(table).text} FORMAT JSONEachRow`, values });
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
