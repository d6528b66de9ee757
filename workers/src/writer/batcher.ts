/**
 * Gathers items handed in by concurrent job processors into one flush, because BullMQ
 * OSS has no batch processing and ClickHouse wants few, large inserts. Each caller
 * awaits the result of the flush that contains its item, so a job completes only after
 * its data is durable.
 */

/** Why a flush started; bounded, so it can label logs and metrics. */
export type FlushReason = 'rows' | 'bytes' | 'wait' | 'jobs' | 'close';

export interface BatcherOptions<T, R> {
  /** flush when the pending items hold this many rows */
  maxRows: number;
  /** flush when the pending items hold this many bytes */
  maxBytes: number;
  /** flush this long after the first pending item arrived */
  maxWaitMs: number;
  /** flush when this many items are pending: the worker's concurrency, so no more can arrive */
  maxItems: number;
  measure(item: T): { rows: number; bytes: number };
  /** writes the items; resolves to one result per item, in the same order */
  flush(items: T[], reason: FlushReason): Promise<R[]>;
}

export interface Batcher<T, R> {
  /** Adds an item; resolves with its result once the flush that holds it has ended. */
  submit(item: T): Promise<R>;
  /** Flushes what is pending, makes every later submit flush at once, and waits for running flushes. Safe to call twice. */
  close(): Promise<void>;
  /** items waiting for a flush to start */
  readonly pendingItems: number;
}

interface Waiter<T, R> {
  item: T;
  resolve(result: R): void;
  reject(err: unknown): void;
}

export function createBatcher<T, R>(options: BatcherOptions<T, R>): Batcher<T, R> {
  let pending: Waiter<T, R>[] = [];
  let rows = 0;
  let bytes = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const running = new Set<Promise<void>>();

  function flush(reason: FlushReason): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const batch = pending;
    pending = [];
    rows = 0;
    bytes = 0;
    if (batch.length === 0) return;
    const done = run(batch, reason).finally(() => running.delete(done));
    running.add(done);
  }

  async function run(batch: Waiter<T, R>[], reason: FlushReason): Promise<void> {
    try {
      const results = await options.flush(
        batch.map((w) => w.item),
        reason,
      );
      if (results.length !== batch.length) throw new Error(`flush returned ${results.length} results for ${batch.length} items`);
      batch.forEach((w, i) => w.resolve(results[i] as R));
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }

  return {
    get pendingItems() {
      return pending.length;
    },
    submit(item) {
      const size = options.measure(item);
      // Keep each flush within the limits: what is pending goes first if this item would overflow it.
      if (pending.length > 0 && (rows + size.rows > options.maxRows || bytes + size.bytes > options.maxBytes)) {
        flush(rows + size.rows > options.maxRows ? 'rows' : 'bytes');
      }
      const result = new Promise<R>((resolve, reject) => pending.push({ item, resolve, reject }));
      rows += size.rows;
      bytes += size.bytes;
      if (closed) flush('close');
      else if (rows >= options.maxRows) flush('rows');
      else if (bytes >= options.maxBytes) flush('bytes');
      else if (pending.length >= options.maxItems) flush('jobs');
      else timer ??= setTimeout(() => flush('wait'), options.maxWaitMs);
      return result;
    },
    async close() {
      closed = true;
      flush('close');
      while (running.size > 0) await Promise.allSettled([...running]);
    },
  };
}
