import { defineConfig } from '@playwright/test'

// End-to-end tests: the built SPA behind nginx (rendered from
// nginx.conf.template) in front of the real backend binary, both started by
// e2e/global-setup.ts on free loopback ports. The browser is Debian's
// Chromium; no browser is ever downloaded.
export default defineConfig({
  testDir: './e2e',
  // e2e/cluster/ runs against a deployed cluster (playwright.cluster.config.ts).
  testIgnore: ['cluster/**'],
  outputDir: './test-results',
  globalSetup: './e2e/global-setup.ts',
  // One worker: the tests share one backend whose fault state they change.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  use: {
    screenshot: 'on',
    trace: 'retain-on-failure',
    viewport: { width: 1280, height: 860 },
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  projects: [{ name: 'chromium', use: { browserName: 'chromium' } }],
})
