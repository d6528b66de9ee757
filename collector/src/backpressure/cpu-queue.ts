/**
 * Runs the CPU-heavy step of each request (decode + normalize) one per event-loop turn,
 * in arrival order. Between two of them the loop reads sockets, accepts connections and
 * answers /healthz, so however many bodies arrive at once nothing waits behind more than
 * one decode. How long the queue would make a new request wait is what tells the
 * collector its CPU cannot keep up.
 */
export interface CpuQueue {
  run<T>(job: () => T): Promise<T>;
  /** jobs waiting to run */
  readonly length: number;
  /** estimated ms before a job queued now would start: jobs waiting × their recent average run time */
  readonly waitMs: number;
}

export function createCpuQueue(): CpuQueue {
  const jobs: Array<() => void> = [];
  let scheduled = false;
  let averageMs = 1;

  const next = (): void => {
    scheduled = false;
    const job = jobs.shift();
    if (!job) return;
    const started = performance.now();
    job();
    averageMs = averageMs * 0.8 + (performance.now() - started) * 0.2;
    // An immediate queued from an immediate runs on the next turn: I/O comes in between.
    if (jobs.length > 0) schedule();
  };
  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(next);
  };

  return {
    run<T>(job: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        jobs.push(() => {
          try {
            resolve(job());
          } catch (err) {
            reject(err);
          }
        });
        schedule();
      });
    },
    get length() {
      return jobs.length;
    },
    get waitMs() {
      return jobs.length * averageMs;
    },
  };
}
