import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test, expect, STRICT_CSP } from './fixtures'

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist')
const entry = readFileSync(join(dist, 'index.html'), 'utf8').match(
  /src="(\/assets\/[^"]+\.js)"/,
)?.[1]

const common = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
}

test('security headers on static, SPA, proxied, error and health answers', async ({ request }) => {
  const paths: [string, number][] = [
    ['/', 200],
    ['/stats', 200],
    [entry!, 200],
    ['/favicon.svg', 200],
    ['/api/info', 200],
    ['/healthz', 200],
    ['/readyz', 200],
    ['/version', 200],
    ['/metrics', 200],
    ['/nginx-health', 200],
    ['/assets/missing-0000.js', 404],
    ['/missing.png', 404],
    ['/.vite/manifest.json', 404],
    ['/chaos/status/503', 503],
    ['/api/nothing-here', 404],
  ]
  for (const [path, status] of paths) {
    const res = await request.get(path)
    expect(res.status(), path).toBe(status)
    const h = res.headers()
    expect(h['content-security-policy'], path).toBe(STRICT_CSP)
    for (const [name, value] of Object.entries(common))
      expect(h[name], `${path} ${name}`).toBe(value)
    expect(h['permissions-policy'], path).toContain('camera=()')
    expect(h['server'] ?? 'nginx', path).toBe('nginx')
  }
})

test('caching: hashed assets immutable, index.html revalidated, API untouched', async ({
  request,
}) => {
  const asset = await request.get(entry!)
  expect(asset.headers()['cache-control']).toBe('public, max-age=31536000, immutable')
  for (const path of ['/', '/index.html', '/chaos']) {
    expect((await request.get(path)).headers()['cache-control'], path).toBe('no-cache')
  }
  // A missing asset must not be cached for a year.
  const missing = await request.get('/assets/missing-0000.js')
  expect(missing.headers()['cache-control']).toBeUndefined()
  // The backend's own Cache-Control passes through.
  expect((await request.get('/api/info')).headers()['cache-control']).toBe('no-store')
})

test('gzip for text assets', async ({ request }) => {
  const res = await request.get(entry!, { headers: { 'Accept-Encoding': 'gzip' } })
  expect(res.headers()['content-encoding']).toBe('gzip')
  expect(res.headers()['vary']).toContain('Accept-Encoding')
})

test('Swagger UI alone gets inline styles; scripts stay same-origin', async ({ request }) => {
  const res = await request.get('/swagger/')
  expect(res.status()).toBe(200)
  const csp = res.headers()['content-security-policy']
  expect(csp).toContain("style-src 'self' 'unsafe-inline'")
  expect(csp).toContain("script-src 'self';")
  expect(res.headers()['x-content-type-options']).toBe('nosniff')
})

test('readiness toggles are not exposed through the front end', async ({ request }) => {
  const res = await request.post('/readyz/disable')
  expect(res.status()).toBe(404)
  expect((await request.get('/readyz')).status()).toBe(200)
})
