export { runCli, type CliIo } from './run.js';
export type { BootstrapOutput } from './commands/bootstrap.js';
