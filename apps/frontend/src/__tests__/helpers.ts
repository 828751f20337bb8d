import { vi } from 'vitest'
import type { ServiceInfo, Stats } from '@/api/types'

export type Handler = (init: RequestInit | undefined, url: string) => Response | Promise<Response>

export function json(body: unknown, status = 200, type = 'application/json'): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': type } })
}

export function problem(status: number, detail: string): Response {
  return json(
    { type: 'about:blank', title: 'Error', status, detail, instance: '/x' },
    status,
    'application/problem+json',
  )
}

/**
 * Replaces fetch with a router keyed by "METHOD /path" or "/path" (any
 * method). Unknown paths answer 404 problem JSON. Returns the mock to
 * inspect calls.
 */
export function mockFetch(routes: Record<string, Handler>) {
  const fn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    const path = url.replace(/^https?:\/\/[^/]+/, '')
    const method = (init?.method ?? 'GET').toUpperCase()
    const bare = path.split('?')[0] ?? path
    const handler =
      routes[`${method} ${path}`] ?? routes[`${method} ${bare}`] ?? routes[path] ?? routes[bare]
    if (!handler) return problem(404, `no route for ${method} ${path}`)
    return handler(init, path)
  })
  vi.stubGlobal('fetch', fn)
  return fn
}

/** A fetch that never reaches a server. */
export function mockFetchDown() {
  const fn = vi.fn(async () => {
    throw new TypeError('Failed to fetch')
  })
  vi.stubGlobal('fetch', fn)
  return fn
}

export const sampleInfo: ServiceInfo = {
  name: 'backend',
  version: '1.4.2',
  commit: '0123456789abcdef0123456789abcdef01234567',
  hostname: 'backend-7d9f',
  goVersion: 'go1.26.8',
  uptimeSeconds: 125.5,
  ready: true,
  startedAt: '2026-11-25T10:00:00Z',
  message: 'Hello from the platform',
  color: '#34577c',
  environment: 'develop',
  chaosEnabled: true,
}

export function sampleStats(n = 5): Stats {
  const start = Date.parse('2026-11-25T10:00:00Z')
  return {
    windowSeconds: 300,
    stepSeconds: 5,
    points: Array.from({ length: n }, (_, i) => ({
      time: new Date(start + i * 5000).toISOString(),
      requestRate: 1 + i,
      errorRatio: i === n - 1 ? 0.25 : 0,
      p99Seconds: 0.1 * (i + 1),
    })),
  }
}

/** Routes for a healthy backend. */
export function healthyRoutes(info: ServiceInfo = sampleInfo): Record<string, Handler> {
  return {
    '/api/info': () => json(info),
  }
}

/** Lets pending promise callbacks run. */
export async function flush(times = 5): Promise<void> {
  for (let i = 0; i < times; i++) await new Promise((r) => setTimeout(r, 0))
}

/** A promise with its resolver, to hold a response back. */
export function deferred<T>() {
  let resolve!: (v: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}
