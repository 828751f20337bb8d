import { test, expect } from '../fixtures'

// Runs against a deployed cluster's public URL (playwright.cluster.config.ts):
// the SPA from the frontend pods' nginx, its /api/ answered by a backend pod
// of the same cluster. E2E_ENVIRONMENT and E2E_UI_MESSAGE name what the
// cluster's overlay configures.
test.use({ listener: 'public' })

test('the dashboard shows the backend running in the cluster', async ({ page, request, snap }) => {
  const environment = process.env.E2E_ENVIRONMENT
  const message = process.env.E2E_UI_MESSAGE
  if (!environment || !message) throw new Error('E2E_ENVIRONMENT and E2E_UI_MESSAGE must be set')

  const res = await request.get('/api/info')
  expect(res.status()).toBe(200)
  const info = await res.json()
  expect(info.name).toBe('backend')
  expect(info.environment).toBe(environment)
  // The pod's name: the answer comes from inside the cluster.
  expect(info.hostname).toMatch(/^backend-[a-z0-9]+-[a-z0-9]{5}$/)
  expect(info.ready).toBe(true)

  await page.goto('/')
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Service overview')
  await expect(page.getByTestId('info-version')).toHaveText(info.version)
  await expect(page.getByTestId('info-environment')).toHaveText(environment)
  await expect(page.getByTestId('info-message')).toHaveText(message)
  await expect(page.getByTestId('service-info')).toContainText(/backend-[a-z0-9]+-[a-z0-9]{5}/)
  await expect(page.getByTestId('probe-liveness')).toContainText('ok')
  await expect(page.getByTestId('probe-readiness')).toContainText('ready')
  await expect(page.getByTestId('api-banner')).toHaveCount(0)
  await snap('cluster-overview')
})
