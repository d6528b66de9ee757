// Read side of Canopy: trace search and detail, analytics, GenAI usage and cost, org usage.
// Every function over tenant data takes (clickhouse, scope, input); inputs come from the
// zod schemas here, which the query API also uses for validation and its OpenAPI document.
export { MAX_QUERY_RANGE_DAYS, MAX_USAGE_RANGE_DAYS, type TimeRange } from './params.js';

export { COMPARE_OPS, MAX_ATTRIBUTE_FILTERS, attributeCondition, parseAttributeParam, isAttributeParam, type AttributeFilter, type CompareOp } from './traces/filters.js';
export { encodeTraceCursor, decodeTraceCursor, TRACE_SORTS, type TraceCursor, type TraceSort } from './traces/cursor.js';
export {
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
  type TraceSearchInput,
  type TraceSearchResult,
  type TraceSummary,
  type TraceStatus,
} from './traces/schema.js';
export { searchTraces, buildTraceSearchQuery, TRACE_SUMMARY_PAD_SEC } from './traces/search.js';
export { traceDetailSchema, spanDetailSchema, SPAN_KINDS, MAX_TRACE_SPANS, type TraceDetail, type SpanDetail, type SpanKindName } from './traces/detail-schema.js';
export { getTrace, buildTree } from './traces/detail.js';

export { BUCKETS, BUCKET_NAMES, MAX_POINTS, autoBucket, type BucketName } from './analytics/buckets.js';
export {
  timeseriesQuerySchema,
  timeseriesParamsSchema,
  timeseriesInputSchema,
  timeseriesResultSchema,
  TIMESERIES_DESCRIPTION,
  METRICS,
  SPAN_METRICS,
  TOKEN_METRICS,
  TIMESERIES_GROUPS,
  type Metric,
  type TimeseriesInput,
  type TimeseriesResult,
  type TimeseriesPoint,
} from './analytics/schema.js';
export { timeseries } from './analytics/timeseries.js';

export { GENAI_KEYS, TOKEN_KEYS } from './genai/conventions.js';
export { genaiCalls, type CallRange } from './genai/calls.js';
export { genaiSummary, genaiQuerySchema, genaiParamsSchema, genaiInputSchema, genaiSummarySchema, GENAI_GROUPS, type GenAiQuery, type GenAiSummary } from './genai/summary.js';
export { tokenMeasuresSchema, type TokenMeasures } from './genai/totals.js';
export { parsePrice, formatPrice, formatUsd, costPico, type ModelPrice } from './genai/money.js';
export { DEFAULT_PRICES, DEFAULT_PRICES_REVISION, BUILT_IN_PRICES, type BuiltInPrices, type PriceEntry } from './genai/default-prices.js';
export {
  listOrgPrices,
  effectivePrices,
  createPriceBook,
  priceBookOf,
  putPricesSchema,
  priceListSchema,
  priceEntrySchema,
  sourcedPriceEntrySchema,
  type PriceBook,
  type PriceList,
  type PutPricesInput,
  type SourcedPriceEntry,
} from './genai/prices.js';
export {
  getPriceList,
  setOrgPrices,
  loadPriceBook,
  currentPriceVersion,
  getPriceVersion,
  getPriceVersionView,
  listPriceVersions,
  versionedBook,
  priceVersionSchema,
  priceVersionListSchema,
  priceVersionShape,
  SYSTEM_PRICES_ACTOR,
  type PriceVersion,
  type PriceVersionView,
  type PriceVersionList,
  type VersionedPriceBook,
} from './genai/price-versions.js';
export { genaiCellsQuery, readGenAiCells, byCell, cellKey, sameCounts, countsOf, type DayRange, type GenAiCell, type TokenCounts } from './genai/cells.js';
export {
  priceCell,
  lockCosts,
  readStoredCostRows,
  readPricedDays,
  loadStoredCosts,
  loadVersionBooks,
  writeDayCosts,
  type PricedCell,
  type DayCosts,
  type StoredCost,
  type StoredCosts,
} from './genai/costs.js';
export { repriceCosts, repriceSchema, repriceResultSchema, daySchema, daysOf, type RepriceInput, type RepriceResult } from './genai/reprice.js';

export { usageQuerySchema, usageParamsSchema, usageInputSchema, usageReportSchema, usageRowSchema, USAGE_GROUPS, USAGE_DESCRIPTION, type UsageInput, type UsageReport, type UsageRow } from './usage/schema.js';
export { usageReport, loadUsageContext, type UsageContext } from './usage/report.js';
export { usageToCsv } from './usage/csv.js';
