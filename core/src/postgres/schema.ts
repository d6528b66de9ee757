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
      -- Not on last_used_at: bumping usage must not invalidate every cache.
      CREATE TRIGGER api_keys_notify AFTER INSERT OR DELETE OR UPDATE OF revoked_at, expires_at, scopes, workspace_id, key_hash ON api_keys
        FOR EACH ROW EXECUTE FUNCTION canopy_notify_key_change();
    `,
  },
  {
    version: 2,
    name: 'users, memberships, invitations, personal tokens, audit log, plans',
    sql: `
      CREATE TABLE users (
        id          text PRIMARY KEY,
        email       text NOT NULL,
        name        text NOT NULL DEFAULT '',
        created_at  timestamptz NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX users_email_key ON users (lower(email));

      CREATE TABLE org_members (
        org_id      text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        user_id     text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        role        text NOT NULL CHECK (role IN ('owner', 'admin', 'billing', 'member')),
        created_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (org_id, user_id)
      );
      CREATE INDEX org_members_user ON org_members (user_id);

      CREATE TABLE workspace_members (
        workspace_id  text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
        user_id       text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        role          text NOT NULL CHECK (role IN ('admin', 'developer', 'viewer')),
        created_at    timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (workspace_id, user_id)
      );
      CREATE INDEX workspace_members_user ON workspace_members (user_id);

      CREATE TABLE invitations (
        id              text PRIMARY KEY,
        org_id          text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        email           text NOT NULL,
        role            text NOT NULL CHECK (role IN ('owner', 'admin', 'billing', 'member')),
        token_hash      text NOT NULL UNIQUE,
        invited_by      text REFERENCES users (id) ON DELETE SET NULL,
        created_at      timestamptz NOT NULL DEFAULT now(),
        expires_at      timestamptz NOT NULL,
        accepted_at     timestamptz,
        revoked_at      timestamptz
      );
      CREATE INDEX invitations_org ON invitations (org_id);

      -- How people reach the query API: hashed like API keys, shown once.
      CREATE TABLE personal_tokens (
        id            text PRIMARY KEY,
        user_id       text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        name          text NOT NULL,
        prefix        text NOT NULL,
        token_hash    text NOT NULL UNIQUE,
        created_at    timestamptz NOT NULL DEFAULT now(),
        last_used_at  timestamptz,
        expires_at    timestamptz,
        revoked_at    timestamptz
      );
      CREATE INDEX personal_tokens_user ON personal_tokens (user_id);

      -- Written in the same transaction as the change it records.
      CREATE TABLE audit_log (
        id           bigserial PRIMARY KEY,
        org_id       text NOT NULL,
        actor_type   text NOT NULL CHECK (actor_type IN ('user', 'api_key', 'system')),
        actor_id     text NOT NULL,
        action       text NOT NULL,
        target_type  text NOT NULL,
        target_id    text NOT NULL,
        before       jsonb,
        after        jsonb,
        source_ip    text,
        created_at   timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX audit_log_org_time ON audit_log (org_id, created_at DESC, id DESC);

      CREATE TABLE org_plans (
        org_id                   text PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
        plan                     text NOT NULL DEFAULT 'free',
        monthly_span_quota       bigint CHECK (monthly_span_quota IS NULL OR monthly_span_quota >= 0),
        ingest_rate_limit_per_s  integer CHECK (ingest_rate_limit_per_s IS NULL OR ingest_rate_limit_per_s > 0),
        updated_at               timestamptz NOT NULL DEFAULT now()
      );

      -- Any change to who may do what tells every policy holder to reload.
      CREATE FUNCTION canopy_notify_policy_change() RETURNS trigger AS $$
      BEGIN
        PERFORM pg_notify('canopy_policy', TG_TABLE_NAME);
        RETURN NULL;
      END $$ LANGUAGE plpgsql;
      CREATE TRIGGER org_members_notify AFTER INSERT OR UPDATE OR DELETE ON org_members
        FOR EACH STATEMENT EXECUTE FUNCTION canopy_notify_policy_change();
      CREATE TRIGGER workspace_members_notify AFTER INSERT OR UPDATE OR DELETE ON workspace_members
        FOR EACH STATEMENT EXECUTE FUNCTION canopy_notify_policy_change();
      CREATE TRIGGER workspaces_notify AFTER INSERT OR UPDATE OR DELETE ON workspaces
        FOR EACH STATEMENT EXECUTE FUNCTION canopy_notify_policy_change();
      CREATE TRIGGER api_keys_policy_notify AFTER INSERT OR DELETE OR UPDATE OF revoked_at, expires_at, scopes, workspace_id ON api_keys
        FOR EACH STATEMENT EXECUTE FUNCTION canopy_notify_policy_change();
      CREATE TRIGGER personal_tokens_policy_notify AFTER INSERT OR DELETE OR UPDATE OF revoked_at, expires_at, user_id ON personal_tokens
        FOR EACH STATEMENT EXECUTE FUNCTION canopy_notify_policy_change();
    `,
  },
  {
    version: 3,
    name: 'per-organization model prices',
    sql: `
      -- An organization's own prices per model, USD per million tokens, exact decimals.
      -- Models without an entry use the built-in list (core/src/queries/genai/default-prices.ts).
      -- NULL cache prices: billed like input.
      CREATE TABLE model_prices (
        org_id                   text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        model                    text NOT NULL,
        input_per_mtok           numeric(18, 6) NOT NULL CHECK (input_per_mtok >= 0),
        output_per_mtok          numeric(18, 6) NOT NULL CHECK (output_per_mtok >= 0),
        cache_read_per_mtok      numeric(18, 6) CHECK (cache_read_per_mtok >= 0),
        cache_creation_per_mtok  numeric(18, 6) CHECK (cache_creation_per_mtok >= 0),
        updated_at               timestamptz NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX model_prices_org_model ON model_prices (org_id, lower(model));
    `,
  },
];

