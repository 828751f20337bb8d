import { test as base, expect } from '@playwright/test'
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const screenshotDir = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'test-results',
  'screenshots',
)

interface Fixtures {
  /** Which nginx listener the test talks to: admin (the full dashboard) or public. */
  listener: 'admin' | 'public'
  /** Console messages that a test expects (for example failed requests it provokes). */
  allowedConsoleErrors: RegExp[]
  consoleErrors: string[]
  /** Saves a full-page screenshot under test-results/screenshots/NAME.png. */
  snap: (name: string) => Promise<string>
}

export const test = base.extend<Fixtures>({
  listener: ['admin', { option: true }],
  // The servers listen on ports chosen in global setup.
  baseURL: async ({ listener }, use) => {
    const name = listener === 'public' ? 'E2E_PUBLIC_URL' : 'E2E_BASE_URL'
    const url = process.env[name]
    if (!url) throw new Error(`${name} is not set: global setup did not run`)
    await use(url)
  },
  allowedConsoleErrors: [[], { option: true }],
  // Every test fails on a console error or an uncaught exception, which
  // also catches Content-Security-Policy violations.
  consoleErrors: [
    async ({ page, allowedConsoleErrors }, use) => {
      const errors: string[] = []
      page.on('console', (msg) => {
        if (msg.type() !== 'error') return
        const text = msg.text()
        if (!allowedConsoleErrors.some((re) => re.test(text))) errors.push(text)
      })
      page.on('pageerror', (err) => errors.push(`uncaught: ${err.message}`))
      await use(errors)
      expect(errors, 'console errors').toEqual([])
    },
    { auto: true },
  ],
  snap: async ({ page }, use) => {
    mkdirSync(screenshotDir, { recursive: true })
    await use(async (name) => {
      const path = join(screenshotDir, `${name}.png`)
      await page.screenshot({ path, fullPage: true })
      return path
    })
  },
})

export { expect }

export const STRICT_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'; form-action 'self'"
