import { csvCell } from '../../tenancy/audit.js';
import type { UsageReport, UsageRow } from './schema.js';

type Column = { header: string; value: (r: UsageRow) => string };

const MEASURES: Column[] = [
  { header: 'spans', value: (r) => String(r.spans) },
  { header: 'bytes', value: (r) => String(r.bytes) },
  { header: 'calls', value: (r) => String(r.calls) },
  { header: 'input_tokens', value: (r) => String(r.inputTokens) },
  { header: 'output_tokens', value: (r) => String(r.outputTokens) },
  { header: 'cache_read_tokens', value: (r) => String(r.cacheReadTokens) },
  { header: 'cache_creation_tokens', value: (r) => String(r.cacheCreationTokens) },
  { header: 'reasoning_tokens', value: (r) => String(r.reasoningTokens) },
  { header: 'cost_usd', value: (r) => r.costUsd },
  { header: 'price_versions', value: (r) => r.priceVersions.join(';') },
  { header: 'provisional', value: (r) => String(r.provisional) },
];

/**
 * The report's rows as CSV: RFC 4180 (CRLF line ends, quoting where needed), a header
 * row of the snake_case names, the groupBy keys first. Text a spreadsheet would take
 * for a formula (model and service names come from spans, so from anyone who can send
 * them) is prefixed with `'`. No totals row, so a column sum in a spreadsheet is the total.
 */
export function usageToCsv(report: Pick<UsageReport, 'groupBy' | 'rows'>): string {
  const columns: Column[] = [];
  if (report.groupBy.includes('workspace')) {
    columns.push({ header: 'workspace_id', value: (r) => r.workspaceId ?? '' }, { header: 'workspace_slug', value: (r) => r.workspaceSlug ?? '' });
  }
  if (report.groupBy.includes('day')) columns.push({ header: 'day', value: (r) => r.day ?? '' });
  if (report.groupBy.includes('service')) columns.push({ header: 'service', value: (r) => r.service ?? '' });
  if (report.groupBy.includes('model')) columns.push({ header: 'model', value: (r) => r.model ?? '' });
  columns.push(...MEASURES);
  const lines = [columns.map((c) => c.header).join(',')];
  for (const r of report.rows) lines.push(columns.map((c) => csvCell(c.value(r))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
