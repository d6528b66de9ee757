/** Test-only crash points around the first insert (CANOPY_WORKER_FAULT). */
export type WriterFault = 'none' | 'kill-after-insert' | 'kill-before-insert';

export interface FaultHooks {
  /** runs right before an INSERT is sent */
  beforeInsert(): void;
  /** runs right after ClickHouse accepted an INSERT, before any job is completed */
  afterInsert(): void;
}

const killSelf = (): void => {
  process.kill(process.pid, 'SIGKILL');
};

/**
 * SIGKILL leaves no chance to clean up, like a power cut or the OOM killer: the jobs
 * stay active in Redis with their locks, which is what the crash tests need. The kill
 * happens at the first insert because the process does not outlive it.
 */
export function createFaultHooks(fault: WriterFault, kill: () => void = killSelf): FaultHooks {
  return {
    beforeInsert() {
      if (fault === 'kill-before-insert') kill();
    },
    afterInsert() {
      if (fault === 'kill-after-insert') kill();
    },
  };
}
