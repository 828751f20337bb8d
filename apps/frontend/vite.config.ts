import { fileURLToPath, URL } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// Paths the backend answers; the dev server proxies them just as nginx does
// in production, so the app always talks to its own origin.
const backendPaths = [
  '/api',
  '/chaos',
  '/healthz',
  '/readyz',
  '/version',
  '/metrics',
  '/swagger',
  '/openapi.yaml',
]
const backend = process.env.BACKEND_URL ?? 'http://127.0.0.1:8080'

export default defineConfig({
  plugins: [vue()],
  // Vue's compile-time flags: every component is <script setup>, so the
  // Options API is compiled out (it is the largest optional part of Vue's
  // runtime), and no devtools or hydration hooks ship in production.
  define: {
    __VUE_OPTIONS_API__: 'false',
    __VUE_PROD_DEVTOOLS__: 'false',
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
  },
  resolve: {
    alias: {
      '@': fileURLToPath(new URL('./src', import.meta.url)),
    },
  },
  build: {
    // Read by scripts/check-bundle.mjs to measure the initial route.
    manifest: true,
    // Never inline assets as data: URLs in scripts or styles.
    assetsInlineLimit: 0,
    // The modulepreload polyfill is bundled into the entry chunk, so the
    // generated index.html carries no inline script (strict CSP).
    target: 'es2022',
  },
  server: {
    proxy: Object.fromEntries(
      backendPaths.map((p) => [p, { target: backend, changeOrigin: true }]),
    ),
  },
})
