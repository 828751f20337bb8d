import { test, expect } from './fixtures'

test.use({
  allowedConsoleErrors: [/Failed to load resource: the server responded with a status of 500/],
})

test('the charts render the backend statistics', async ({ page, request, snap }) => {
  // Some traffic, a few of it errors, so every series has something to show.
  for (let i = 0; i < 30; i++) await request.get('/version')
  for (let i = 0; i < 3; i++) await request.get('/chaos/status/500')
  await expect
    .poll(
      async () => {
        const stats = await (await request.get('/api/stats?window=60')).json()
        return stats.points.some((p: { requestRate: number }) => p.requestRate > 0)
      },
      { timeout: 20_000, message: 'the backend records the traffic' },
    )
    .toBe(true)

  await page.goto('/stats')
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Live metrics')
  const charts = page.locator('figure.chart')
  await expect(charts).toHaveCount(3)
  await expect(charts.first()).not.toHaveAttribute('data-points', '0')
  await expect(page.getByTestId('latest')).toContainText('req/s')

  // Something was drawn on each canvas.
  for (const canvas of await page.locator('figure.chart canvas').all()) {
    await expect
      .poll(() =>
        canvas.evaluate((c: HTMLCanvasElement) => {
          const data = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data
          let painted = 0
          for (let i = 3; data && i < data.length; i += 4) if (data[i] !== 0) painted++
          return painted
        }),
      )
      .toBeGreaterThan(100)
  }
  await expect(page.locator('figure.chart canvas').first()).toHaveAttribute(
    'aria-label',
    /Request rate over the last 5 minutes/,
  )

  // The window selection asks the API for a new range.
  const next = page.waitForRequest((r) => r.url().includes('/api/stats?window=900'))
  await page.getByLabel('Time window').selectOption('900')
  await next
  await expect(charts).toHaveCount(3)
  await snap('metrics')
})
