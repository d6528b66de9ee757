// The console as a Node package: where its built files are, for the query API to serve at `/`.
import { fileURLToPath } from 'node:url';

/** Absolute path of the built console (`vite build` output): index.html and assets/. */
export const consoleDistDir = fileURLToPath(new URL('./dist/', import.meta.url));
