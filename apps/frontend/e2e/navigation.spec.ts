import { test, expect } from './fixtures'

test('deep links survive a reload', async ({ page }) => {
  for (const [path, heading] of [
    ['/stats', 'Live metrics'],
    ['/chaos', 'Chaos testing'],
    ['/no/such/page', 'Page not found'],
  ]) {
    const res = await page.goto(path!)
    expect(res?.status(), path).toBe(200)
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(heading!)
    await page.reload()
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(heading!)
    await expect(page).toHaveURL(new RegExp(`${path}$`))
  }
})

test('navigating loads the lazy routes', async ({ page }) => {
  await page.goto('/')
  const nav = page.getByRole('navigation', { name: 'Main' })
  await nav.getByRole('link', { name: 'Chaos' }).click()
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Chaos testing')
  await expect(page).toHaveTitle('Chaos · Platform')
  await nav.getByRole('link', { name: 'Metrics' }).click()
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Live metrics')
  await expect(page).toHaveURL(/\/stats$/)
  await nav.getByRole('link', { name: 'Overview' }).click()
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Service overview')
})

test('keyboard: skip link first, visible focus, main reachable', async ({ page }) => {
  await page.goto('/')
  await expect(page.getByTestId('info-version')).toBeVisible()
  await page.keyboard.press('Tab')
  const skip = page.getByRole('link', { name: 'Skip to main content' })
  await expect(skip).toBeFocused()
  await expect(skip).toBeInViewport()
  const outline = await skip.evaluate((el) => getComputedStyle(el).outlineStyle)
  expect(outline).not.toBe('none')
  await page.keyboard.press('Enter')
  await expect(page.locator('main#main')).toBeFocused()
  // Tab order continues into the page content, not back to the header.
  await page.keyboard.press('Tab')
  const inMain = await page.evaluate(() => !!document.activeElement?.closest('main'))
  expect(inMain).toBe(true)
})

test('phone-sized viewport: no horizontal scrolling', async ({ page, snap }) => {
  await page.setViewportSize({ width: 375, height: 740 })
  for (const path of ['/', '/chaos', '/stats']) {
    await page.goto(path)
    await expect(page.getByRole('heading', { level: 1 })).toBeVisible()
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    )
    expect(overflow, `${path} overflows horizontally`).toBeLessThanOrEqual(0)
  }
  await page.goto('/chaos')
  await expect(page.getByTestId('faults-state')).toContainText(/faults/i)
  await snap('chaos-phone')
})

test.describe('when the API is down', () => {
  test.use({ allowedConsoleErrors: [/Failed to load resource/] })

  test('a banner offers retry and the page stays usable', async ({ page, snap }) => {
    const block = (route: { abort: () => Promise<void> }) => route.abort()
    for (const p of ['**/api/info', '**/healthz', '**/readyz']) await page.route(p, block)
    await page.goto('/')
    const banner = page.getByTestId('api-banner')
    await expect(banner).toBeVisible()
    await expect(banner).toHaveAttribute('role', 'alert')
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Service overview')
    await expect(page.getByTestId('probe-liveness')).toContainText('unreachable')
    await snap('api-down')
    await page.unrouteAll()
    await banner.getByRole('button', { name: 'Retry' }).click()
    await expect(banner).toHaveCount(0)
    await expect(page.getByTestId('info-environment')).toHaveText('e2e')
  })
})
