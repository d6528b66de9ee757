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
  {
    version: 4,
    name: 'dead letters',
    sql: `
      -- Batches ClickHouse still refused after their last attempt, kept instead of dropped
      -- (core/src/ingest/dead-letters.ts). One row per batch: a replay that fails again
      -- reopens the same row. The ingest ledger counts them by received_at.
      CREATE TABLE dead_letters (
        id                text PRIMARY KEY,
        org_id            text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        workspace_id      text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
        key_id            text NOT NULL,
        batch_id          text NOT NULL UNIQUE,
        received_at       timestamptz NOT NULL,
        spans             integer NOT NULL CHECK (spans >= 0),
        bytes             bigint NOT NULL CHECK (bytes >= 0),
        attempts          integer NOT NULL CHECK (attempts >= 0),
        error_code        text NOT NULL,
        error_message     text NOT NULL,
        status            text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'replayed', 'discarded')),
        -- the SpanBatch as it was queued; NULL once discarded
        payload           jsonb,
        dead_lettered_at  timestamptz NOT NULL DEFAULT now(),
        updated_at        timestamptz NOT NULL DEFAULT now(),
        replayed_at       timestamptz,
        replay_count      integer NOT NULL DEFAULT 0,
        discarded_at      timestamptz
      );
      CREATE INDEX dead_letters_workspace_status ON dead_letters (workspace_id, status, dead_lettered_at);
    `,
  },
  {
    version: 5,
    name: 'ingest ledger, its applied flushes, reconciliation results',
    sql: `
      -- Per workspace, API key, minute (of the collector's receivedAtMs) and kind: spans,
      -- requests and bytes. Kinds: accepted, rejected_invalid, rejected_quota,
      -- rejected_rate_limit, rejected_too_large. Filled only by the flush of the Redis
      -- counters (core/src/ingest/ledger-flush.ts), which adds each flush exactly once.
      -- No foreign keys: like usage, the ledger outlives a deleted workspace or key.
      CREATE TABLE ingest_ledger (
        org_id        text NOT NULL,
        workspace_id  text NOT NULL,
        key_id        text NOT NULL,
        minute        timestamptz NOT NULL,
        kind          text NOT NULL CHECK (kind IN ('accepted', 'rejected_invalid', 'rejected_quota', 'rejected_rate_limit', 'rejected_too_large')),
        spans         bigint NOT NULL DEFAULT 0,
        requests      bigint NOT NULL DEFAULT 0,
        bytes         bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (workspace_id, minute, key_id, kind)
      );
      CREATE INDEX ingest_ledger_org_minute ON ingest_ledger (org_id, minute);
      CREATE INDEX ingest_ledger_accepted_minute ON ingest_ledger (minute) WHERE kind = 'accepted';

      -- Flushes already added to ingest_ledger: a flush is applied in the transaction that
      -- inserts its id here, so a retried flush (a worker died after the commit) adds nothing.
      CREATE TABLE ingest_ledger_flushes (
        id          text PRIMARY KEY,
        applied_at  timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX ingest_ledger_flushes_applied ON ingest_ledger_flushes (applied_at);

      -- One row per checked (workspace, minute): accepted against stored + dead-lettered +
      -- discarded. A non-zero difference is a flag; later checks update the row and keep
      -- first_flagged_at.
      CREATE TABLE ingest_reconciliation (
        org_id            text NOT NULL,
        workspace_id      text NOT NULL,
        minute            timestamptz NOT NULL,
        accepted          bigint NOT NULL,
        stored            bigint NOT NULL,
        dead_lettered     bigint NOT NULL,
        discarded         bigint NOT NULL,
        difference        bigint NOT NULL,
        first_flagged_at  timestamptz,
        checked_at        timestamptz NOT NULL,
        PRIMARY KEY (workspace_id, minute)
      );
      CREATE INDEX ingest_reconciliation_org_minute ON ingest_reconciliation (org_id, minute);
      CREATE INDEX ingest_reconciliation_flagged ON ingest_reconciliation (minute) WHERE difference <> 0;
    `,
  },
  {
    version: 6,
    name: 'price table versions and stored GenAI costs',
    sql: `
      -- Every price table an organization has billed with, immutable (the trigger below):
      -- entries is the full effective list (its own prices and the built-in ones it did not
      -- override) as core/src/queries/genai/price-versions.ts writes it.
      CREATE TABLE price_versions (
        org_id      text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        version     integer NOT NULL CHECK (version > 0),
        entries     jsonb NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        created_by  text NOT NULL,
        note        text,
        PRIMARY KEY (org_id, version)
      );
      CREATE FUNCTION canopy_price_versions_immutable() RETURNS trigger AS $$
      BEGIN
        RAISE EXCEPTION 'price table versions are immutable; create a new version instead';
      END $$ LANGUAGE plpgsql;
      CREATE TRIGGER price_versions_immutable BEFORE UPDATE ON price_versions
        FOR EACH ROW EXECUTE FUNCTION canopy_price_versions_immutable();

      -- The GenAI cost of a closed UTC day, per workspace and model, priced once with the
      -- version named. cost_pico: pico-USD (1e-12) as an exact integer; numeric(38,0)
      -- because bigint would overflow at ~9.2 million USD in one cell. workspace_id has no
      -- foreign key: a bill outlives the workspace it was for. price_entry is the price
      -- table entry that matched the model (NULL: no price, cost 0).
      CREATE TABLE genai_costs (
        org_id                 text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        workspace_id           text NOT NULL,
        day                    date NOT NULL,
        model                  text NOT NULL,
        calls                  bigint NOT NULL CHECK (calls >= 0),
        input_tokens           bigint NOT NULL CHECK (input_tokens >= 0),
        output_tokens          bigint NOT NULL CHECK (output_tokens >= 0),
        cache_read_tokens      bigint NOT NULL CHECK (cache_read_tokens >= 0),
        cache_creation_tokens  bigint NOT NULL CHECK (cache_creation_tokens >= 0),
        reasoning_tokens       bigint NOT NULL CHECK (reasoning_tokens >= 0),
        uncached_input_tokens  bigint NOT NULL CHECK (uncached_input_tokens >= 0),
        price_entry            text,
        cost_pico              numeric(38, 0) NOT NULL CHECK (cost_pico >= 0),
        price_version          integer NOT NULL,
        priced_at              timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (workspace_id, day, model),
        FOREIGN KEY (org_id, price_version) REFERENCES price_versions (org_id, version)
      );
      CREATE INDEX genai_costs_org_day ON genai_costs (org_id, day);

      -- Which version each priced day of an organization is on, also for a day without
      -- calls: data arriving late for it is priced with this version, not a newer one.
      CREATE TABLE genai_cost_days (
        org_id         text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        day            date NOT NULL,
        price_version  integer NOT NULL,
        priced_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (org_id, day),
        FOREIGN KEY (org_id, price_version) REFERENCES price_versions (org_id, version)
      );
    `,
  },
  {
    version: 7,
    name: 'price table versions name the built-in list they were made with',
    sql: `
      -- DEFAULT_PRICES_REVISION (core/src/queries/genai/default-prices.ts) of the release
      -- that made the version; NULL for versions made before it was kept (read as 0). A
      -- release adds a version for its built-in list only when the latest version's is
      -- older, so releases running side by side during an upgrade never alternate.
      -- ADD COLUMN rewrites no row, so the immutability trigger is not involved.
      ALTER TABLE price_versions ADD COLUMN defaults_revision integer;
    `,
  },
];

