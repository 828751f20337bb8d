import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useMetricsStore } from '@/stores/metrics'
import { deferred, json, mockFetch, mockFetchDown, problem, sampleStats } from './helpers'

describe('metrics store', () => {
  beforeEach(() => setActivePinia(createPinia()))
  afterEach(() => vi.useRealTimers())

  it('loads the points of the window', async () => {
    const fetchMock = mockFetch({ '/api/stats': () => json(sampleStats(4)) })
    const store = useMetricsStore()
    await store.fetchStats()
    expect(fetchMock.mock.calls[0]?.[0]).toBe('/api/stats?window=300')
    expect(store.points).toHaveLength(4)
    expect(store.latest?.requestRate).toBe(4)
    expect(store.empty).toBe(false)
    expect(store.error).toBeNull()
    expect(store.updatedAt).not.toBeNull()
  })

  it('is loading until the answer arrives', async () => {
    const held = deferred<Response>()
    mockFetch({ '/api/stats': () => held.promise })
    const store = useMetricsStore()
    const done = store.fetchStats()
    expect(store.loading).toBe(true)
    held.resolve(json(sampleStats(1)))
    await done
    expect(store.loading).toBe(false)
  })

  it('reports an empty window', async () => {
    mockFetch({ '/api/stats': () => json({ windowSeconds: 300, stepSeconds: 5, points: [] }) })
    const store = useMetricsStore()
    await store.fetchStats()
    expect(store.empty).toBe(true)
    expect(store.latest).toBeNull()
  })

  it('keeps the last data and shows an error when the API fails', async () => {
    mockFetch({ '/api/stats': () => json(sampleStats(2)) })
    const store = useMetricsStore()
    await store.fetchStats()
    mockFetchDown()
    await store.fetchStats()
    expect(store.error).toMatch(/not reachable/)
    expect(store.points).toHaveLength(2)
  })

  it('shows a problem detail', async () => {
    mockFetch({ '/api/stats': () => problem(400, 'window must be between 60 and 3600') })
    const store = useMetricsStore()
    await store.fetchStats()
    expect(store.error).toContain('window must be between 60 and 3600')
  })

  it('changes and clamps the window', async () => {
    const fetchMock = mockFetch({ '/api/stats': () => json(sampleStats(1)) })
    const store = useMetricsStore()
    await store.setWindow(900)
    await store.setWindow(99999)
    expect(fetchMock.mock.calls.map((c) => c[0])).toEqual([
      '/api/stats?window=900',
      '/api/stats?window=3600',
    ])
  })

  it('polls at the backend step until stopped', async () => {
    vi.useFakeTimers()
    const fetchMock = mockFetch({ '/api/stats': () => json(sampleStats(3)) })
    const store = useMetricsStore()
    store.startPolling()
    await vi.advanceTimersByTimeAsync(10)
    expect(fetchMock).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(5000)
    expect(fetchMock).toHaveBeenCalledTimes(2)
    store.stopPolling()
    await vi.advanceTimersByTimeAsync(20000)
    expect(fetchMock).toHaveBeenCalledTimes(2)
  })
})
