import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useServiceStore } from '@/stores/service'
import { deferred, healthyRoutes, json, mockFetch, mockFetchDown, sampleInfo } from './helpers'

describe('service store', () => {
  beforeEach(() => setActivePinia(createPinia()))
  afterEach(() => vi.useRealTimers())

  it('loads info and derives both probes from it', async () => {
    mockFetch(healthyRoutes())
    const store = useServiceStore()
    await store.refresh()
    expect(store.info).toEqual(sampleInfo)
    expect(store.error).toBeNull()
    expect(store.apiDown).toBe(false)
    expect(store.chaosEnabled).toBe(true)
    expect(store.liveness).toMatchObject({ state: 'up', httpStatus: 200, detail: 'ok' })
    expect(store.readiness).toMatchObject({ state: 'up', httpStatus: 200, detail: 'ready' })
    expect(store.fetchedAt).not.toBeNull()
  })

  it('is loading while the requests are in flight', async () => {
    const held = deferred<Response>()
    mockFetch({ ...healthyRoutes(), '/api/info': () => held.promise })
    const store = useServiceStore()
    const done = store.refresh()
    expect(store.loading).toBe(true)
    expect(store.info).toBeNull()
    held.resolve(json(sampleInfo))
    await done
    expect(store.loading).toBe(false)
    expect(store.info?.version).toBe('1.4.2')
  })

  it('reports a draining backend as not ready', async () => {
    mockFetch(healthyRoutes({ ...sampleInfo, ready: false }))
    const store = useServiceStore()
    await store.refresh()
    expect(store.liveness).toMatchObject({ state: 'up', detail: 'ok' })
    expect(store.readiness).toMatchObject({ state: 'down', detail: 'draining' })
    expect(store.apiDown).toBe(false)
  })

  it('reports an API error answer as down, not unreachable', async () => {
    mockFetch({
      '/api/info': () =>
        json({ type: 'about:blank', title: 'Internal Server Error', status: 500 }, 500),
    })
    const store = useServiceStore()
    await store.refresh()
    expect(store.liveness).toMatchObject({ state: 'down', httpStatus: 500 })
    expect(store.readiness.state).toBe('down')
  })

  it('marks the API down when nothing answers, and keeps the last info', async () => {
    mockFetch(healthyRoutes())
    const store = useServiceStore()
    await store.refresh()
    mockFetchDown()
    await store.refresh()
    expect(store.apiDown).toBe(true)
    expect(store.error).toMatch(/cannot be reached/)
    expect(store.info).toEqual(sampleInfo)
    expect(store.liveness.state).toBe('unreachable')
    expect(store.readiness.state).toBe('unreachable')
  })

  it('recovers on the next successful refresh', async () => {
    mockFetchDown()
    const store = useServiceStore()
    await store.refresh()
    expect(store.apiDown).toBe(true)
    mockFetch(healthyRoutes())
    await store.refresh()
    expect(store.apiDown).toBe(false)
    expect(store.info?.hostname).toBe('backend-7d9f')
  })

  it('shares one round trip between concurrent refreshes', async () => {
    const fetchMock = mockFetch(healthyRoutes())
    const store = useServiceStore()
    await Promise.all([store.refresh(), store.refresh(), store.refresh()])
    expect(fetchMock).toHaveBeenCalledTimes(1) // /api/info once
  })

  it('polls on an interval until stopped', async () => {
    vi.useFakeTimers()
    const fetchMock = mockFetch(healthyRoutes())
    const store = useServiceStore()
    store.startPolling(1000)
    await vi.advanceTimersByTimeAsync(10)
    expect(fetchMock).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(1000)
    expect(fetchMock).toHaveBeenCalledTimes(2)
    store.stopPolling()
    await vi.advanceTimersByTimeAsync(5000)
    expect(fetchMock).toHaveBeenCalledTimes(2)
  })
})
