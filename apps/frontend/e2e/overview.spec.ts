import { test, expect } from './fixtures'

test('overview shows the backend version, environment and probes', async ({
  page,
  request,
  snap,
}) => {
  const version = await (await request.get('/version')).json()
  await page.goto('/')
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Service overview')
  await expect(page.getByTestId('info-version')).toHaveText(version.version)
  await expect(page.getByTestId('info-environment')).toHaveText('e2e')
  await expect(page.getByTestId('info-message')).toHaveText('Hello from the end-to-end tests')
  await expect(page.getByTestId('probe-liveness')).toContainText('ok')
  await expect(page.getByTestId('probe-readiness')).toContainText('ready')
  await expect(page.getByTestId('api-banner')).toHaveCount(0)
  await expect(page.getByRole('link', { name: /API documentation/ }).first()).toHaveAttribute(
    'href',
    '/swagger/',
  )
  await snap('overview')
})

test('the API documentation and metrics links answer through nginx', async ({ page, request }) => {
  const metrics = await request.get('/metrics')
  expect(metrics.status()).toBe(200)
  expect(await metrics.text()).toContain('# TYPE')
  const spec = await request.get('/openapi.yaml')
  expect(spec.status()).toBe(200)
  expect(await spec.text()).toContain('openapi:')
  // Swagger UI loads under its own CSP without console errors.
  await page.goto('/swagger/')
  await expect(page.locator('#swagger-ui')).toContainText('backend', { timeout: 15_000 })
})
