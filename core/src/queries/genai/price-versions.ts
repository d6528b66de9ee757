import { z } from 'zod';
import { recordAudit } from '../../tenancy/audit.js';
import { inTransaction, type Db, type Queryable } from '../../tenancy/db.js';
import { parseInput, TenancyError } from '../../tenancy/errors.js';
import type { Actor, OrgRef } from '../../tenancy/schemas.js';
import { BUILT_IN_PRICES, type BuiltInPrices } from './default-prices.js';
import {
  effectivePrices,
  listOrgPrices,
  priceBookOf,
  priceListSchema,
  putPricesSchema,
  type PriceBook,
  type PriceList,
  type PutPricesInput,
  type SourcedPriceEntry,
} from './prices.js';

/**
 * Price table versions. Every change of an organization's prices makes a new, immutable
 * version holding the full effective list (its own entries and the built-in ones it did
 * not override), so a stored cost that names its version can always be recomputed. An
 * organization gets version 1 the first time one is needed, and a new version when this
 * release ships a newer built-in list (DEFAULT_PRICES_REVISION) than its latest version
 * was made with.
 */
export interface PriceVersion {
  orgId: string;
  version: number;
  entries: SourcedPriceEntry[];
  createdAt: Date;
  /** `user:<id>`, `api_key:<id>`, or `system:prices` for versions Canopy made itself */
  createdBy: string;
  note: string | null;
  /** DEFAULT_PRICES_REVISION of the release that made it; 0 for versions made before it was recorded */
  defaultsRevision: number;
}

/** A price book that knows which version it was built from. */
export interface VersionedPriceBook extends PriceBook {
  readonly version: number;
}

const createdByDescription = 'who made it: user:<id>, api_key:<id>, or system:prices for versions Canopy made itself (the first one, and after a change of the built-in list)';

export const priceVersionSchema = priceListSchema.extend({
  createdBy: z.string().describe(createdByDescription),
  current: z.boolean().describe('whether this is the version new costs are computed with'),
});
export type PriceVersionView = z.infer<typeof priceVersionSchema>;

export const priceVersionListSchema = z.object({
  current: z.number().int().describe('the version new costs are computed with'),
  versions: z.array(
    z.object({
      version: z.number().int(),
      createdAt: z.string(),
      createdBy: z.string().describe(createdByDescription),
      note: z.string().nullable(),
      models: z.number().int().describe('entries in the table'),
    }),
  ),
});
export type PriceVersionList = z.infer<typeof priceVersionListSchema>;

/** For live results (analytics) computed with the current version: which one it was. */
export const priceVersionShape = {
  priceVersion: z.number().int().describe('the price table version the cost was computed with (the current one)'),
};

export const SYSTEM_PRICES_ACTOR = { type: 'system', id: 'prices' } as const satisfies Actor;

/** Advisory lock class (with the org's hash): one version is created at a time per organization. */
const PRICES_LOCK = 7_263_412;

async function lockPrices(client: Queryable, orgId: string): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [PRICES_LOCK, orgId]);
}

interface VersionRow {
  org_id: string;
  version: number;
  entries: SourcedPriceEntry[];
  created_at: Date;
  created_by: string;
  note: string | null;
  defaults_revision: number | null;
}

const COLUMNS = 'org_id, version, entries, created_at, created_by, note, defaults_revision';

/** jsonb keeps no key order; entries are rebuilt field by field so equal tables print equally. */
const entryOf = (e: SourcedPriceEntry): SourcedPriceEntry => ({
  model: e.model,
  inputPerMillion: e.inputPerMillion,
  outputPerMillion: e.outputPerMillion,
  cacheReadPerMillion: e.cacheReadPerMillion,
  cacheCreationPerMillion: e.cacheCreationPerMillion,
  source: e.source,
});

const fromRow = (r: VersionRow): PriceVersion => ({
  orgId: r.org_id,
  version: r.version,
  entries: r.entries.map(entryOf),
  createdAt: r.created_at,
  createdBy: r.created_by,
  note: r.note,
  defaultsRevision: r.defaults_revision ?? 0,
});

const sameEntries = (a: readonly SourcedPriceEntry[], b: readonly SourcedPriceEntry[]): boolean =>
  JSON.stringify(a.map(entryOf)) === JSON.stringify(b.map(entryOf));

async function latestVersion(db: Queryable, orgId: string): Promise<PriceVersion | null> {
  const { rows } = await db.query<VersionRow>(`SELECT ${COLUMNS} FROM price_versions WHERE org_id = $1 ORDER BY version DESC LIMIT 1`, [orgId]);
  return rows[0] ? fromRow(rows[0]) : null;
}

/** Appends the next version; the caller holds the prices lock in its transaction. */
async function appendVersion(
  client: Queryable,
  v: { orgId: string; entries: SourcedPriceEntry[]; createdBy: string; note: string | null; defaultsRevision: number },
): Promise<PriceVersion> {
  const { rows } = await client.query<VersionRow>(
    `INSERT INTO price_versions (org_id, version, entries, created_by, note, defaults_revision)
     SELECT $1, COALESCE(MAX(version), 0) + 1, $2::jsonb, $3, $4, $5 FROM price_versions WHERE org_id = $1
     RETURNING ${COLUMNS}`,
    [v.orgId, JSON.stringify(v.entries.map(entryOf)), v.createdBy, v.note, v.defaultsRevision],
  );
  return fromRow(rows[0]!);
}

async function requireOrg(client: Queryable, orgId: string): Promise<void> {
  const org = await client.query('SELECT 1 FROM organizations WHERE id = $1', [orgId]);
  if (org.rowCount === 0) throw new TenancyError('not_found', 'organization not found', { field: 'orgId' });
}

/**
 * Whether the latest version stands as it is: it holds the prices in effect with this
 * process's built-in list, or was made with a built-in list at least as new. The second
 * keeps a release running beside a newer one (a rolling upgrade) from adding its older
 * list back; it prices with the newer release's version meanwhile.
 */
const latestStands = (latest: PriceVersion, entries: readonly SourcedPriceEntry[], builtIn: BuiltInPrices): boolean =>
  latest.defaultsRevision >= builtIn.revision || sameEntries(latest.entries, entries);

/**
 * The version new costs are computed with, created when the organization has none yet or
 * its latest was made with an older built-in list than `builtIn` (this release's).
 */
export async function currentPriceVersion(db: Db, orgId: string, builtIn: BuiltInPrices = BUILT_IN_PRICES): Promise<PriceVersion> {
  const [latest, own] = await Promise.all([latestVersion(db, orgId), listOrgPrices(db, orgId)]);
  if (latest && latestStands(latest, effectivePrices(own, builtIn.entries), builtIn)) return latest;
  return inTransaction(db, async (client) => {
    await lockPrices(client, orgId);
    await requireOrg(client, orgId);
    const again = await latestVersion(client, orgId);
    const entries = effectivePrices(await listOrgPrices(client, orgId), builtIn.entries);
    if (again && latestStands(again, entries, builtIn)) return again;
    const note = again ? 'the built-in price list changed' : 'the prices in effect when price versions began';
    return appendVersion(client, { orgId, entries, createdBy: `${SYSTEM_PRICES_ACTOR.type}:${SYSTEM_PRICES_ACTOR.id}`, note, defaultsRevision: builtIn.revision });
  });
}

/** One version of the organization's price table; not_found (field `version`) when it has no such version. */
export async function getPriceVersion(db: Queryable, orgId: string, version: number): Promise<PriceVersion> {
  const { rows } = await db.query<VersionRow>(`SELECT ${COLUMNS} FROM price_versions WHERE org_id = $1 AND version = $2`, [orgId, version]);
  if (!rows[0]) throw new TenancyError('not_found', `price table version ${version} not found`, { field: 'version' });
  return fromRow(rows[0]);
}

/** Every version, newest first. */
export async function listPriceVersions(db: Db, orgId: string): Promise<PriceVersionList> {
  const current = await currentPriceVersion(db, orgId);
  const { rows } = await db.query<Omit<VersionRow, 'entries' | 'org_id'> & { models: number }>(
    `SELECT version, created_at, created_by, note, jsonb_array_length(entries) AS models FROM price_versions WHERE org_id = $1 ORDER BY version DESC`,
    [orgId],
  );
  return {
    current: current.version,
    versions: rows.map((r) => ({ version: r.version, createdAt: r.created_at.toISOString(), createdBy: r.created_by, note: r.note, models: r.models })),
  };
}

export function priceListOf(v: PriceVersion): PriceList {
  return { version: v.version, createdAt: v.createdAt.toISOString(), note: v.note, currency: 'USD', unit: 'per 1M tokens', prices: v.entries };
}

export async function getPriceVersionView(db: Db, input: OrgRef & { version: number }): Promise<PriceVersionView> {
  // The current version first: it may be version 1, made when first needed.
  const current = await currentPriceVersion(db, input.orgId);
  const v = await getPriceVersion(db, input.orgId, input.version);
  return { ...priceListOf(v), createdBy: v.createdBy, current: v.version === current.version };
}

/** Every price that applies to the organization now, with the version number they are. */
export async function getPriceList(db: Db, orgId: string): Promise<PriceList> {
  return priceListOf(await currentPriceVersion(db, orgId));
}

export function versionedBook(v: Pick<PriceVersion, 'version' | 'entries'>): VersionedPriceBook {
  return { ...priceBookOf(v.entries), version: v.version };
}

/** The organization's price book: its current version. */
export async function loadPriceBook(db: Db, orgId: string): Promise<VersionedPriceBook> {
  return versionedBook(await currentPriceVersion(db, orgId));
}

/**
 * Replaces the organization's own price entries (an empty list returns it to the built-in
 * prices) and makes the result a new version, in one transaction with its audit entry.
 * Costs already stored keep the version they were computed with; only a re-price
 * (`repriceCosts`) moves them to another.
 */
export async function setOrgPrices(db: Db, actor: Actor, input: OrgRef & PutPricesInput): Promise<PriceList> {
  const { orgId, ...fields } = input;
  const { prices, note } = parseInput(putPricesSchema, fields);
  const created = await inTransaction(db, async (client) => {
    await lockPrices(client, orgId);
    await requireOrg(client, orgId);
    // The table in effect until now gets its version first (1 for an organization that
    // never had one), so the history has no gap.
    const previous = await currentPriceVersion(client, orgId);
    const before = await listOrgPrices(client, orgId);
    await client.query('DELETE FROM model_prices WHERE org_id = $1', [orgId]);
    for (const e of prices) {
      await client.query(
        `INSERT INTO model_prices (org_id, model, input_per_mtok, output_per_mtok, cache_read_per_mtok, cache_creation_per_mtok)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [orgId, e.model, e.inputPerMillion, e.outputPerMillion, e.cacheReadPerMillion, e.cacheCreationPerMillion],
      );
    }
    const after = await listOrgPrices(client, orgId);
    const version = await appendVersion(client, {
      orgId,
      entries: effectivePrices(after, BUILT_IN_PRICES.entries),
      createdBy: `${actor.type}:${actor.id}`,
      note: note ?? null,
      defaultsRevision: BUILT_IN_PRICES.revision,
    });
    await recordAudit(client, {
      orgId,
      actor,
      action: 'prices.update',
      targetType: 'prices',
      targetId: orgId,
      before: { version: previous.version, prices: before },
      after: { version: version.version, prices: after, note: version.note },
    });
    return version;
  });
  return priceListOf(created);
}
