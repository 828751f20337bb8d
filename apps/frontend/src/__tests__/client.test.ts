import { describe, expect, it } from 'vitest'
import { ApiError, api, rawRequest, request } from '@/api/client'
import { json, mockFetch, mockFetchDown, problem, sampleInfo } from './helpers'

describe('api client', () => {
  it('returns the JSON body of a 2xx answer', async () => {
    mockFetch({ '/api/info': () => json(sampleInfo) })
    await expect(api.info()).resolves.toEqual(sampleInfo)
  })

  it('sends JSON bodies with the method', async () => {
    const fetchMock = mockFetch({
      'POST /chaos/faults': (init) => json({ ...JSON.parse(String(init?.body)), active: true }),
    })
    const state = await api.setFaults({ latencyMinMs: 10, latencyMaxMs: 20, errorRatio: 0.5 })
    expect(state).toEqual({ latencyMinMs: 10, latencyMaxMs: 20, errorRatio: 0.5, active: true })
    const init = fetchMock.mock.calls[0]?.[1]
    expect(init?.method).toBe('POST')
    expect((init?.headers as Record<string, string>)['Content-Type']).toBe('application/json')
  })

  it('turns problem JSON into an ApiError with status and detail', async () => {
    mockFetch({ '/version': () => problem(503, 'injected fault') })
    const err = await request('/version').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).status).toBe(503)
    expect((err as ApiError).message).toContain('injected fault')
    expect((err as ApiError).problem?.status).toBe(503)
    expect((err as ApiError).unreachable).toBe(false)
  })

  it('reports a network failure as unreachable (status 0)', async () => {
    mockFetchDown()
    const err = await api.info().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).status).toBe(0)
    expect((err as ApiError).unreachable).toBe(true)
  })

  it('treats a 502 from the proxy as unreachable', async () => {
    mockFetch({ '/api/info': () => problem(502, 'backend unavailable') })
    const err = (await api.info().catch((e: unknown) => e)) as ApiError
    expect(err.unreachable).toBe(true)
  })

  it('rawRequest returns non-2xx answers without throwing', async () => {
    mockFetch({ '/chaos/status/418': () => json({ status: 418 }, 418) })
    const res = await rawRequest('/chaos/status/418')
    expect(res.status).toBe(418)
    expect(res.ok).toBe(false)
    expect(res.body).toEqual({ status: 418 })
    expect(res.durationMs).toBeGreaterThanOrEqual(0)
  })

  it('encodes the stats window in the query', async () => {
    const fetchMock = mockFetch({
      '/api/stats': () => json({ windowSeconds: 900, stepSeconds: 5, points: [] }),
    })
    await api.stats(900)
    expect(fetchMock.mock.calls[0]?.[0]).toBe('/api/stats?window=900')
  })
})
