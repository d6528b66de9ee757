import { ConfigError, StorageError, TenancyError, isNetworkError } from '@canopy/core';

/** An expected failure of a command: printed as its message, never with a stack. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A mistake in the command line itself (exit code 2). */
export function usageError(message: string, command: string): CliError {
  return new CliError(`${message}\nRun \`canopy ${command} --help\` for usage.`, 2);
}

/** Hides the password of a connection URL before it is printed. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/** Postgres errors carry a five-character SQLSTATE `code` and a `severity`. */
function pgErrorCode(err: unknown): string | null {
  const { code, severity } = err as { code?: unknown; severity?: unknown };
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof severity === 'string' ? code : null;
}

const PG_SCHEMA_MISSING = new Set(['3D000', '42P01']); // database missing, table missing

/** Turns an expected error into the line the user sees; null for bugs, which keep their stack. */
export function describeError(err: unknown, context: { postgresUrl?: string | undefined }): CliError | null {
  if (err instanceof CliError) return err;
  if (err instanceof ConfigError) return new CliError(err.message);
  if (err instanceof StorageError) return new CliError(err.message);
  // The organization model's expected refusals (taken, unknown, last owner, bad value) carry a clear message.
  if (err instanceof TenancyError) return new CliError(err.message);
  const where = context.postgresUrl ? ` at ${redactUrl(context.postgresUrl)}` : '';
  const pgCode = pgErrorCode(err);
  if (pgCode && PG_SCHEMA_MISSING.has(pgCode)) {
    return new CliError(`the Canopy schema is missing in Postgres${where}: run \`npx canopy migrate\` first`);
  }
  if (pgCode) return new CliError(`Postgres${where} refused the request: ${(err as Error).message} (SQLSTATE ${pgCode})`);
  if (isNetworkError(err)) {
    return new CliError(`cannot reach Postgres${where}: ${(err as Error).message || 'connection failed'} (set CANOPY_DATABASE_URL)`);
  }
  return null;
}
