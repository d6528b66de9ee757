/** Absolute path of the built console (`vite build` output): index.html and assets/. */
export declare const consoleDistDir: string;
