import { z } from 'zod';

/**
 * The wire shapes of dead letters (the query API validates and documents with them).
 * A dead letter is a queued batch ClickHouse still refused after its last attempt.
 */

export const DEAD_LETTER_STATUSES = ['open', 'replayed', 'discarded'] as const;
export type DeadLetterStatus = (typeof DEAD_LETTER_STATUSES)[number];

/** The most rows an inspection expands. */
export const DEAD_LETTER_FIRST_ROWS = 20;
export const DEFAULT_DEAD_LETTER_LIMIT = 50;
export const MAX_DEAD_LETTER_LIMIT = 200;

const instant = z.iso.datetime().describe('ISO 8601 instant, UTC');

export const deadLetterSchema = z.object({
  id: z.string(),
  batchId: z.string().describe('the id every row of the batch carries (`batch_id` in ClickHouse)'),
  workspaceId: z.string(),
  keyId: z.string().describe('the API key that sent the batch'),
  receivedAt: instant.describe('when the collector accepted the batch'),
  deadLetteredAt: instant.describe('when the batch (last) became a dead letter'),
  updatedAt: instant,
  spans: z.number().int().describe('spans in the batch'),
  bytes: z.number().int().describe('bytes of the batch as metered'),
  attempts: z.number().int().describe('insert attempts spent on the batch, over every delivery and replay'),
  replayCount: z.number().int(),
  status: z.enum(DEAD_LETTER_STATUSES).describe('open: kept, waiting for a decision; replayed: back on the queue; discarded: dropped, payload deleted'),
  error: z.object({ code: z.string(), message: z.string() }).describe('why the last attempt failed'),
});
export type DeadLetter = z.infer<typeof deadLetterSchema>;

export const deadLetterDetailSchema = deadLetterSchema.extend({
  firstRows: z
    .array(z.record(z.string(), z.unknown()))
    .describe(`the first ${DEAD_LETTER_FIRST_ROWS} rows as they would be inserted (a row that is not JSON: { unparsable: text }); empty once discarded`),
  rowCount: z.number().int().describe('rows the kept payload holds; 0 once discarded'),
});
export type DeadLetterDetail = z.infer<typeof deadLetterDetailSchema>;

export const deadLetterListSchema = z.object({
  deadLetters: z.array(deadLetterSchema),
  nextCursor: z.string().nullable().describe('pass as `cursor` for the next page; null on the last'),
});
export type DeadLetterList = z.infer<typeof deadLetterListSchema>;

export const deadLetterQuerySchema = z.object({
  status: z
    .enum([...DEAD_LETTER_STATUSES, 'all'])
    .default('open')
    .describe('which dead letters to list (default open)'),
  limit: z.coerce.number().int().min(1).max(MAX_DEAD_LETTER_LIMIT).default(DEFAULT_DEAD_LETTER_LIMIT).describe(`page size, at most ${MAX_DEAD_LETTER_LIMIT}`),
  cursor: z.string().min(1).optional().describe('the `nextCursor` of the previous page'),
});
export type DeadLetterQuery = z.input<typeof deadLetterQuerySchema>;
