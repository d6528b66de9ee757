import { z } from 'zod';
import { instantSchema } from '../tenancy/schemas.js';

/** Wire schemas of the ingest ledger API (`GET /workspaces/:ws/ingest`, `GET /orgs/:org/ingest`). */

export const MAX_LEDGER_RANGE_DAYS = 7;
export const DEFAULT_LEDGER_RANGE_MS = 60 * 60_000;
const DAY_MS = 86_400_000;

export const LEDGER_DESCRIPTION = [
  'The ingest ledger per minute the collector accepted the spans (UTC), minutes without activity omitted.',
  'accepted: spans answered 2xx (counted by the collector); rejected: spans refused as invalid (partialSuccess), over quota or over the rate limit (429), and requests refused as too large (413, their spans unknown);',
  'stored: spans ClickHouse holds (counted by ClickHouse from the insert itself); deadLettered/discarded: spans of dead letters that are open/discarded; queued = accepted - stored - deadLettered - discarded (at least 0).',
  'lag: accepted batches not yet stored or dead-lettered, and how long the oldest has waited. reconciliation: minutes a worker compared once their batches had settled; flagged lists those in the range whose accepted and stored + dead-lettered + discarded differ.',
  `from/to: ISO 8601 or epoch ms, default the last 60 minutes, at most ${MAX_LEDGER_RANGE_DAYS} days. groupBy=key: one row per API key and minute.`,
].join(' ');

const known = {
  from: instantSchema.optional().describe('start, inclusive (rounded down to its minute); default: an hour before to'),
  to: instantSchema.optional().describe(`end, exclusive; default: now; at most ${MAX_LEDGER_RANGE_DAYS} days after from`),
  groupBy: z.enum(['key']).optional().describe('key: one series row per API key and minute'),
};

/** Unknown parameters pass this schema and are refused by name in the input step (a typo is never ignored). */
export const ingestLedgerParamsSchema = z.object(known).catchall(z.unknown());
type IngestLedgerParams = z.output<typeof ingestLedgerParamsSchema>;

export interface IngestLedgerInput {
  from: Date;
  to: Date;
  byKey: boolean;
}

function toLedgerInput(q: IngestLedgerParams, ctx: z.RefinementCtx): IngestLedgerInput {
  for (const name of Object.keys(q)) if (!(name in known)) ctx.addIssue({ code: 'custom', path: [name], message: 'unknown parameter' });
  const to = q.to ?? new Date();
  const from = new Date(Math.floor((q.from ?? new Date(to.getTime() - DEFAULT_LEDGER_RANGE_MS)).getTime() / 60_000) * 60_000);
  if (to.getTime() <= from.getTime()) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
  else if (to.getTime() - from.getTime() > MAX_LEDGER_RANGE_DAYS * DAY_MS) ctx.addIssue({ code: 'custom', path: ['to'], message: `the range may cover at most ${MAX_LEDGER_RANGE_DAYS} days` });
  return { from, to, byKey: q.groupBy === 'key' };
}

/** The cross-field step alone, over parsed parameters. */
export const ingestLedgerInputSchema = z.custom<IngestLedgerParams>().transform(toLedgerInput);

const count = z.number().int().min(0);

export const ledgerRejectedSchema = z.object({
  invalid: count.describe('spans refused one by one as invalid (partialSuccess)'),
  quota: count.describe('spans of requests refused over the monthly quota (429)'),
  rateLimit: count.describe('spans of requests refused over the ingest rate limit (429)'),
  tooLargeRequests: count.describe('requests refused as too large (413); their spans were never decoded'),
});

const measures = {
  accepted: count.describe('spans answered 2xx'),
  rejected: ledgerRejectedSchema,
  stored: count.describe('spans ClickHouse holds'),
  deadLettered: count.describe('spans in open dead letters'),
  discarded: count.describe('spans in discarded dead letters'),
  queued: count.describe('accepted − stored − deadLettered − discarded, at least 0'),
};

export const ledgerTotalsSchema = z.object(measures);
export type LedgerTotals = z.infer<typeof ledgerTotalsSchema>;

export const ledgerSeriesRowSchema = z.object({
  minute: z.string().describe('start of the minute, ISO 8601 UTC'),
  keyId: z.string().nullable().describe('the API key with groupBy=key ("" for spans stored before keys were recorded), else null'),
  ...measures,
});
export type LedgerSeriesRow = z.infer<typeof ledgerSeriesRowSchema>;

export const orgLedgerSeriesRowSchema = ledgerSeriesRowSchema.extend({ workspaceId: z.string(), workspaceSlug: z.string() });
export type OrgLedgerSeriesRow = z.infer<typeof orgLedgerSeriesRowSchema>;

export const ledgerLagSchema = z.object({
  pendingBatches: count.describe('accepted batches neither stored nor dead-lettered yet'),
  oldestPendingReceivedAt: z.string().nullable().describe('when the oldest of them was accepted; null when none is pending'),
  lagMs: count.describe('how long the oldest has waited; 0 when none is pending'),
});
export type LedgerLag = z.infer<typeof ledgerLagSchema>;

export const flaggedMinuteSchema = z.object({
  workspaceId: z.string(),
  minute: z.string(),
  accepted: z.number().int(),
  stored: z.number().int(),
  deadLettered: z.number().int(),
  discarded: z.number().int(),
  difference: z.number().int().describe('accepted − (stored + deadLettered + discarded)'),
  firstFlaggedAt: z.string().nullable(),
  checkedAt: z.string(),
});
export type FlaggedMinute = z.infer<typeof flaggedMinuteSchema>;

export const ledgerReconciliationSchema = z.object({
  checkedThrough: z.string().nullable().describe('end of the latest minute reconciled; null before the first'),
  flagged: z.array(flaggedMinuteSchema).describe('minutes in the range whose counts differ (the latest 1000 at most, latest first)'),
  flaggedTotal: z.number().int().nonnegative().describe('how many minutes in the range are flagged; above the length of flagged when it was cut'),
});
export type LedgerReconciliation = z.infer<typeof ledgerReconciliationSchema>;

export const workspaceLedgerSchema = z.object({
  workspaceId: z.string(),
  from: z.string(),
  to: z.string(),
  series: z.array(ledgerSeriesRowSchema),
  totals: ledgerTotalsSchema,
  lag: ledgerLagSchema,
  reconciliation: ledgerReconciliationSchema,
});
export type WorkspaceLedger = z.infer<typeof workspaceLedgerSchema>;

export const orgLedgerSchema = z.object({
  orgId: z.string(),
  from: z.string(),
  to: z.string(),
  series: z.array(orgLedgerSeriesRowSchema),
  totals: ledgerTotalsSchema,
  workspaces: z.array(z.object({ workspaceId: z.string(), workspaceSlug: z.string(), lag: ledgerLagSchema })),
  reconciliation: ledgerReconciliationSchema,
});
export type OrgLedger = z.infer<typeof orgLedgerSchema>;
