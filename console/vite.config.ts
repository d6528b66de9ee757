import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// `vite build` → dist/, served by the query API at `/`. Relative asset URLs (base './')
// and hash routing mean the console works from any path without server-side rewrites.
// `npm run dev -w console` proxies /api to a query API on CANOPY_API_URL (default :8080).
export default defineConfig({
  base: './',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 1500 },
  server: {
    proxy: {
      '/api': { target: process.env.CANOPY_API_URL ?? 'http://127.0.0.1:8080', changeOrigin: false },
      '/openapi.json': { target: process.env.CANOPY_API_URL ?? 'http://127.0.0.1:8080', changeOrigin: false },
    },
  },
});
