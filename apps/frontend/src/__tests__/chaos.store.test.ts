import { beforeEach, describe, expect, it } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useChaosStore } from '@/stores/chaos'
import { deferred, json, mockFetch, mockFetchDown, problem } from './helpers'

const off = { latencyMinMs: 0, latencyMaxMs: 0, errorRatio: 0, active: false }

describe('chaos store', () => {
  beforeEach(() => setActivePinia(createPinia()))

  it('loads the current faults', async () => {
    mockFetch({ 'GET /chaos/faults': () => json(off) })
    const store = useChaosStore()
    await store.load()
    expect(store.faults).toEqual(off)
    expect(store.disabled).toBe(false)
    expect(store.error).toBeNull()
  })

  it('is loading until the faults arrive', async () => {
    const held = deferred<Response>()
    mockFetch({ 'GET /chaos/faults': () => held.promise })
    const store = useChaosStore()
    const done = store.load()
    expect(store.loading).toBe(true)
    held.resolve(json(off))
    await done
    expect(store.loading).toBe(false)
  })

  it('treats 404 as chaos disabled, not as an error', async () => {
    mockFetch({ 'GET /chaos/faults': () => problem(404, 'not found') })
    const store = useChaosStore()
    await store.load()
    expect(store.disabled).toBe(true)
    expect(store.error).toBeNull()
  })

  it('shows other failures as errors', async () => {
    mockFetch({ 'GET /chaos/faults': () => problem(500, 'boom') })
    const store = useChaosStore()
    await store.load()
    expect(store.error).toContain('boom')
    expect(store.disabled).toBe(false)
  })

  it('applies and clears faults', async () => {
    const fetchMock = mockFetch({
      'POST /chaos/faults': (init) => json({ ...JSON.parse(String(init?.body)), active: true }),
      'DELETE /chaos/faults': () => json(off),
    })
    const store = useChaosStore()
    await store.apply({ latencyMinMs: 5, latencyMaxMs: 50, errorRatio: 1 })
    expect(store.faults).toEqual({ latencyMinMs: 5, latencyMaxMs: 50, errorRatio: 1, active: true })
    expect(JSON.parse(String(fetchMock.mock.calls[0]?.[1]?.body))).toEqual({
      latencyMinMs: 5,
      latencyMaxMs: 50,
      errorRatio: 1,
    })
    await store.clear()
    expect(store.faults?.active).toBe(false)
    expect(store.saving).toBe(false)
  })

  it('keeps a validation problem from the API as the error', async () => {
    mockFetch({ 'POST /chaos/faults': () => problem(400, 'latencyMaxMs must be >= latencyMinMs') })
    const store = useChaosStore()
    await store.apply({ latencyMinMs: 50, latencyMaxMs: 5, errorRatio: 0 })
    expect(store.error).toContain('latencyMaxMs must be')
  })

  it('records delay and status calls, newest first', async () => {
    mockFetch({
      '/chaos/delay/1': () => json({ delayedSeconds: 1 }),
      '/chaos/status/418': () => json({ status: 418 }, 418),
    })
    const store = useChaosStore()
    await store.fireDelay(1)
    const r = await store.fireStatus(418)
    expect(r.status).toBe(418)
    expect(store.results.map((x) => x.label)).toEqual([
      'GET /chaos/status/418',
      'GET /chaos/delay/1',
    ])
    expect(store.results[1]?.summary).toBe('{"delayedSeconds":1}')
    expect(store.pending).toBe(0)
  })

  it('records a call that got no answer', async () => {
    mockFetchDown()
    const store = useChaosStore()
    const r = await store.fireStatus(200)
    expect(r.status).toBe(0)
    expect(r.summary).toMatch(/could not be reached/)
  })

  it('samples the probe path and counts the answers', async () => {
    let n = 0
    mockFetch({
      '/version': () => (n++ % 2 === 0 ? json({ version: '1' }) : problem(503, 'injected')),
    })
    const store = useChaosStore()
    const summary = await store.sample(4)
    expect(summary).toMatchObject({ total: 4, ok: 2, failed: 2, statuses: { '200': 2, '503': 2 } })
    expect(store.probe).toEqual(summary)
    expect(store.probing).toBe(false)
  })
})
