import type { ClickHouse } from '../../clickhouse/client.js';
import { sql, type Sql, type TenantScope } from '../../clickhouse/sql.js';
import { genaiCalls, TOKEN_SUMS, type TokenRow } from './calls.js';
import { big } from './money.js';

/** Whole UTC days, both included, as YYYY-MM-DD. */
export interface DayRange {
  fromDay: string;
  toDay: string;
}

/** What a GenAI cost is computed from: the counted calls' token sums of one cell. */
export interface TokenCounts {
  calls: bigint;
  inputTokens: bigint;
  outputTokens: bigint;
  cacheReadTokens: bigint;
  cacheCreationTokens: bigint;
  reasoningTokens: bigint;
  uncachedInputTokens: bigint;
}

/**
 * GenAI usage of one workspace, UTC day (the day the spans were accepted) and model, and
 * of one service when asked for: the unit stored costs are priced in.
 */
export interface GenAiCell {
  workspaceId: string;
  day: string;
  model: string;
  /** null unless the cells were read by service */
  service: string | null;
  counts: TokenCounts;
  totalTokens: bigint;
  /** every GenAI span of the cell, wrappers included (for the usage report's spans/bytes per model) */
  spans: bigint;
  bytes: bigint;
}

type CellRow = TokenRow & { workspace_id: string; day: string; service_name?: string; cell_model: string; spans_all: string; bytes_all: string };

/** Characters of a model name a cell keeps; the rest is cut and marked like an ingest cut. */
export const MAX_CELL_MODEL_CHARS = 200;

/**
 * The model name a cell is grouped and stored by: `gen_ai.request.model` is any span's
 * text (up to the attribute limit), but a stored cost's key must fit a Postgres index
 * row (~2.7 KB) and Postgres text holds no NUL. So NUL is removed and a name over
 * MAX_CELL_MODEL_CHARS characters is cut there and ends in `…[truncated N bytes]` (the
 * marker text the collector's limits use, N the UTF-8 bytes removed). Done here, in the
 * one query of the usage report and the pricing job, both group identically.
 */
const cellModel = (() => {
  const clean = sql`replaceAll(model, ${'\u0000'}, '')`;
  const head = sql`substringUTF8(${clean}, 1, ${MAX_CELL_MODEL_CHARS})`;
  return sql`if(lengthUTF8(${clean}) <= ${MAX_CELL_MODEL_CHARS}, ${clean},
    concat(${head}, '…[truncated ', toString(length(${clean}) - length(${head})), ' bytes]'))`;
})();

/**
 * The one query both the usage report and the pricing of stored costs read tokens with:
 * counted calls (the wrapper rule of `genaiCalls`) summed per workspace, day and model
 * (as `cellModel` names it).
 */
export function genaiCellsQuery(scope: TenantScope, range: DayRange, options: { byService?: boolean } = {}): Sql {
  const service = options.byService ? sql`service_name,` : sql.empty;
  return sql`SELECT workspace_id, day, ${service} ${cellModel} AS cell_model, count() AS spans_all, sum(size_bytes) AS bytes_all, ${TOKEN_SUMS}
    FROM ${genaiCalls(scope, { by: 'day', fromDay: range.fromDay, toDay: range.toDay })}
    GROUP BY workspace_id, day, ${service} cell_model`;
}

export const countsOf = (r: TokenRow): TokenCounts => ({
  calls: big(r.calls),
  inputTokens: big(r.input_tokens_sum),
  outputTokens: big(r.output_tokens_sum),
  cacheReadTokens: big(r.cache_read_tokens_sum),
  cacheCreationTokens: big(r.cache_creation_tokens_sum),
  reasoningTokens: big(r.reasoning_tokens_sum),
  uncachedInputTokens: big(r.uncached_input_tokens_sum),
});

export async function readGenAiCells(clickhouse: ClickHouse, scope: TenantScope, query: DayRange & { byService?: boolean }): Promise<GenAiCell[]> {
  const rows = await clickhouse.query<CellRow>(scope, genaiCellsQuery(scope, query, { byService: query.byService ?? false }));
  return rows.map((r) => ({
    workspaceId: r.workspace_id,
    day: r.day,
    model: r.cell_model,
    service: r.service_name ?? null,
    counts: countsOf(r),
    totalTokens: big(r.total_tokens_sum),
    spans: big(r.spans_all),
    bytes: big(r.bytes_all),
  }));
}

export const emptyCounts = (): TokenCounts => ({
  calls: 0n,
  inputTokens: 0n,
  outputTokens: 0n,
  cacheReadTokens: 0n,
  cacheCreationTokens: 0n,
  reasoningTokens: 0n,
  uncachedInputTokens: 0n,
});

export function addCounts(into: TokenCounts, other: TokenCounts): void {
  for (const k of Object.keys(into) as Array<keyof TokenCounts>) into[k] += other[k];
}

export const sameCounts = (a: TokenCounts, b: TokenCounts): boolean => (Object.keys(a) as Array<keyof TokenCounts>).every((k) => a[k] === b[k]);

/** `workspace\0day\0model`: the key of a stored cost. */
export const cellKey = (c: { workspaceId: string; day: string; model: string }): string => `${c.workspaceId}\u0000${c.day}\u0000${c.model}`;

/** Cells of the same workspace, day and model summed (the service dimension folded away), calls-less ones dropped. */
export function byCell(cells: readonly GenAiCell[]): Map<string, { workspaceId: string; day: string; model: string; counts: TokenCounts }> {
  const out = new Map<string, { workspaceId: string; day: string; model: string; counts: TokenCounts }>();
  for (const c of cells) {
    const k = cellKey(c);
    let acc = out.get(k);
    if (!acc) out.set(k, (acc = { workspaceId: c.workspaceId, day: c.day, model: c.model, counts: emptyCounts() }));
    addCounts(acc.counts, c.counts);
  }
  for (const [k, c] of out) if (c.counts.calls === 0n) out.delete(k);
  return out;
}
