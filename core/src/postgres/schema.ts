/** Postgres schema as ordered migrations; each runs in one transaction. */
export interface PgMigration {
  version: number;
  name: string;
  sql: string;
}

export const pgMigrations: PgMigration[] = [
  {
    version: 1,
    name: 'organizations, workspaces and API keys',
    sql: `
      CREATE TABLE organizations (
        id          text PRIMARY KEY,
        name        text NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX organizations_name_key ON organizations (lower(name));

      CREATE TABLE workspaces (
        id              text PRIMARY KEY,
        org_id          text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        slug            text NOT NULL,
        name            text NOT NULL,
        retention_days  integer NOT NULL DEFAULT 30 CHECK (retention_days > 0),
        created_at      timestamptz NOT NULL DEFAULT now(),
        UNIQUE (org_id, slug)
      );

      -- A key is stored as its display prefix plus a SHA-256 of the whole secret.
      -- Keys are 256-bit random, so a fast hash is enough; the secret itself is never stored.
      CREATE TABLE api_keys (
        id            text PRIMARY KEY,
        org_id        text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        workspace_id  text REFERENCES workspaces (id) ON DELETE CASCADE,
        name          text NOT NULL,
        prefix        text NOT NULL,
        key_hash      text NOT NULL UNIQUE,
        scopes        text[] NOT NULL,
        created_by    text,
        created_at    timestamptz NOT NULL DEFAULT now(),
        last_used_at  timestamptz,
        expires_at    timestamptz,
        revoked_at    timestamptz
      );
      CREATE INDEX api_keys_workspace ON api_keys (workspace_id);

      -- Every change to a key tells listeners (collectors, query APIs) to drop cached copies.
      CREATE FUNCTION canopy_notify_key_change() RETURNS trigger AS $$
      BEGIN
        PERFORM pg_notify('canopy_api_keys', COALESCE(NEW.key_hash, OLD.key_hash));
        RETURN NULL;
      END $$ LANGUAGE plpgsql;
      CREATE TRIGGER api_keys_notify AFTER INSERT OR UPDATE OR DELETE ON api_keys
        FOR EACH ROW EXECUTE FUNCTION canopy_notify_key_change();
    `,
  },
];
