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

  // Each chart drew a line through every point, inside its box.
  for (const figure of await charts.all()) {
    const points = Number(await figure.getAttribute('data-points'))
    const line = figure.locator('path.chart__line')
    await expect
      .poll(
        async () =>
          ((await line.getAttribute('d')) ?? '').split(/[ML]/).filter((p) => p.trim()).length,
      )
      .toBe(points)
    const box = await line.boundingBox()
    expect(box?.width ?? 0).toBeGreaterThan(100)
  }
  await expect(page.locator('figure.chart svg').first()).toHaveAttribute(
    'aria-label',
    /Request rate over the last 5 minutes/,
  )
  // Hovering reads out the value under the pointer.
  const plot = page.locator('figure.chart svg').first()
  const area = await plot.boundingBox()
  if (area) await page.mouse.move(area.x + area.width - 12, area.y + area.height / 2)
  await expect(page.getByTestId('chart-readout').first()).toContainText('Request rate:')

  // The window selection asks the API for a new range.
  const next = page.waitForRequest((r) => r.url().includes('/api/stats?window=900'))
  await page.getByLabel('Time window').selectOption('900')
  await next
  await expect(charts).toHaveCount(3)
  await snap('metrics')
})
