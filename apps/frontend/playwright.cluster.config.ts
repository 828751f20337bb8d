import { defineConfig } from '@playwright/test'
import local from './playwright.config'

// The browser tests against a running cluster instead of a local nginx:
// E2E_PUBLIC_URL is the cluster's public URL (the sandbox's load balancer in
// test/e2e TestSandboxPlatform). No servers are started; only what the
// public listener serves is tested: e2e/public.spec.ts and e2e/cluster/.
export default defineConfig({
  ...local,
  globalSetup: undefined,
  testIgnore: [],
  testMatch: ['public.spec.ts', 'cluster/*.spec.ts'],
  outputDir: './test-results/cluster',
})
