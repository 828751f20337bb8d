import { test, expect, STRICT_CSP } from './fixtures'

// The public listener (what the ingress reaches) serves the SPA and the
// backend's /api/ only; operational paths are served inside the cluster.
test.use({
  listener: 'public',
  // The chaos page's request to /chaos/faults is answered 404 on purpose.
  allowedConsoleErrors: [/Failed to load resource: the server responded with a status of 404/],
})

test('the public listener serves the SPA and /api/, nothing else of the backend', async ({
  request,
}) => {
  for (const path of ['/', '/stats', '/chaos', '/api/info']) {
    const res = await request.get(path)
    expect(res.status(), path).toBe(200)
    expect(res.headers()['content-security-policy'], path).toBe(STRICT_CSP)
  }
  for (const path of [
    '/chaos/faults',
    '/chaos/status/200',
    '/metrics',
    '/healthz',
    '/readyz',
    '/version',
    '/swagger/',
    '/openapi.yaml',
  ]) {
    const res = await request.get(path)
    expect(res.status(), path).toBe(404)
    expect(res.headers()['content-type'], path).toBe('application/problem+json')
    expect((await res.json()).detail, path).toContain('only inside the cluster')
  }
  for (const path of ['/chaos/faults', '/readyz/disable', '/readyz/enable']) {
    expect((await request.post(path)).status(), `POST ${path}`).toBe(404)
  }
  expect((await request.delete('/chaos/faults')).status()).toBe(404)
})

test('the dashboard works through the public listener; chaos says where it is served', async ({
  page,
  snap,
}) => {
  await page.goto('/')
  await expect(page.getByTestId('info-environment')).toHaveText(
    process.env.E2E_ENVIRONMENT ?? 'e2e',
  )
  await expect(page.getByTestId('probe-liveness')).toContainText('ok')
  await expect(page.getByTestId('probe-readiness')).toContainText('ready')
  await expect(page.getByTestId('admin-note')).toContainText('admin port')

  await page.goto('/stats')
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Live metrics')
  await expect(page.getByTestId('state-error')).toHaveCount(0)

  await page.goto('/chaos')
  const notice = page.getByTestId('chaos-not-here')
  await expect(notice).toContainText('not served here')
  await expect(notice).toContainText('kubectl port-forward deploy/frontend 8081')
  await expect(page.getByRole('button', { name: 'Apply faults' })).toBeDisabled()
  await snap('chaos-public')
})
