import { test, expect } from './fixtures'

// Injected faults and the chosen status codes are failed requests on purpose.
test.use({
  allowedConsoleErrors: [
    /Failed to load resource: the server responded with a status of (4|5)\d\d/,
  ],
})

test.beforeEach(async ({ request }) => {
  expect((await request.delete('/chaos/faults')).ok()).toBe(true)
})
test.afterEach(async ({ request }) => {
  await request.delete('/chaos/faults')
})

test('injecting errors changes the API answers, clearing restores them', async ({
  page,
  request,
  snap,
}) => {
  await page.goto('/chaos')
  const state = page.getByTestId('faults-state')
  await expect(state).toContainText('No faults')

  const sample = page.getByTestId('sample-button')
  const summary = page.getByTestId('sample-summary')
  await sample.click()
  await expect(summary).toContainText('10 sent: 10 succeeded, 0 failed')

  await page.getByLabel('Error ratio (0–1)').fill('1')
  await page.getByRole('button', { name: 'Apply faults' }).click()
  await expect(state).toContainText('Faults active')
  await expect(state).toContainText('100 % errors')

  // The backend itself now fails: checked outside the browser too.
  const failed = await request.get('/version')
  expect(failed.status()).toBe(503)
  expect(failed.headers()['content-type']).toContain('application/problem+json')
  expect((await request.get('/chaos/faults')).ok()).toBe(true)

  await sample.click()
  await expect(summary).toContainText('10 sent: 0 succeeded, 10 failed')
  await expect(summary).toContainText('503 × 10')
  await snap('chaos-faults-active')

  await page.getByRole('button', { name: 'Clear faults' }).click()
  await expect(state).toContainText('No faults')
  expect((await request.get('/version')).status()).toBe(200)
  await sample.click()
  await expect(summary).toContainText('10 sent: 10 succeeded, 0 failed')
})

test('latency injection slows the sampled requests', async ({ page }) => {
  await page.goto('/chaos')
  await page.getByLabel('Latency minimum (ms)').fill('150')
  await page.getByLabel('Latency maximum (ms)').fill('200')
  await page.getByRole('button', { name: 'Apply faults' }).click()
  await expect(page.getByTestId('faults-state')).toContainText('150–200 ms latency')
  await page.getByTestId('sample-button').click()
  const summary = page.getByTestId('sample-summary')
  await expect(summary).toContainText('10 succeeded', { timeout: 20_000 })
  const slowest = Number((await summary.textContent())?.match(/slowest (\d+) ms/)?.[1])
  expect(slowest).toBeGreaterThanOrEqual(150)
})

test('delay and status calls show their results', async ({ page }) => {
  await page.goto('/chaos')
  await expect(page.getByTestId('results-empty')).toBeVisible()
  await page.getByLabel('Status code (200–599)').fill('418')
  await page.getByRole('button', { name: 'Call /chaos/status' }).click()
  const results = page.getByTestId('results')
  await expect(results.locator('tbody tr').first()).toContainText('GET /chaos/status/418')
  await expect(results.locator('tbody tr').first()).toContainText('418')
  await page.getByLabel('Delay (seconds, 0–30)').fill('1')
  await page.getByRole('button', { name: 'Call /chaos/delay' }).click()
  const first = results.locator('tbody tr').first()
  await expect(first).toContainText('GET /chaos/delay/1')
  await expect(first).toContainText('{"delayedSeconds":1}')
  const ms = Number((await first.locator('td').nth(3).textContent())?.replace(/\D/g, ''))
  expect(ms).toBeGreaterThanOrEqual(1000)
})

test('a backend with chaos off shows the disabled state', async ({ page, request }) => {
  // The shared backend runs with chaos on; answer as one with chaos off does.
  const info = await (await request.get('/api/info')).json()
  await page.route('**/api/info', (route) =>
    route.fulfill({ json: { ...info, chaosEnabled: false } }),
  )
  await page.route('**/chaos/**', (route) =>
    route.fulfill({
      status: 404,
      contentType: 'application/problem+json',
      body: JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404 }),
    }),
  )
  await page.goto('/chaos')
  const notice = page.getByTestId('chaos-disabled')
  await expect(notice).toContainText('Chaos is disabled')
  await expect(notice).toContainText('CHAOS_ENABLED=true')
  await expect(page.getByRole('button', { name: 'Apply faults' })).toBeDisabled()
  await expect(page.getByLabel('Error ratio (0–1)')).toBeDisabled()
})
