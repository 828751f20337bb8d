import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { ApiError, api } from '@/api/client'
import type { ServiceInfo } from '@/api/types'

export type ProbeState = 'unknown' | 'up' | 'down' | 'unreachable'

export interface Probe {
  state: ProbeState
  /** HTTP status, 0 when no answer came back. */
  httpStatus: number
  /** The "status" field of the answer ("ok", "ready", "draining", …). */
  detail: string
  checkedAt: Date | null
}

const emptyProbe = (): Probe => ({ state: 'unknown', httpStatus: 0, detail: '', checkedAt: null })

export const DEFAULT_POLL_MS = 5_000

function describe(err: unknown): string {
  if (err instanceof ApiError) {
    return err.unreachable
      ? 'The API cannot be reached. It may be restarting or the network is down.'
      : err.message
  }
  return err instanceof Error ? err.message : String(err)
}

/**
 * What the whole app knows about the backend: /api/info, liveness and
 * readiness, refreshed by polling. The banner, the navigation and the pages
 * all read it, so it lives in one store.
 *
 * Both probes come from the one /api/info call, because the public front end
 * serves /api/ and nothing else of the backend: liveness is whether it
 * answered, readiness its `ready` field (what /readyz reports).
 */
export const useServiceStore = defineStore('service', () => {
  const info = ref<ServiceInfo | null>(null)
  const fetchedAt = ref<number | null>(null)
  const error = ref<string | null>(null)
  const loading = ref(false)
  const liveness = ref<Probe>(emptyProbe())
  const readiness = ref<Probe>(emptyProbe())
  let timer: ReturnType<typeof setInterval> | undefined
  let inFlight: Promise<void> | null = null

  /** True when the last attempt to reach the API failed. */
  const apiDown = computed(() => error.value !== null)
  const chaosEnabled = computed(() => info.value?.chaosEnabled === true)

  async function doRefresh(): Promise<void> {
    loading.value = true
    const checkedAt = new Date()
    try {
      const value = await api.info()
      info.value = value
      fetchedAt.value = Date.now()
      error.value = null
      liveness.value = { state: 'up', httpStatus: 200, detail: 'ok', checkedAt }
      readiness.value = value.ready
        ? { state: 'up', httpStatus: 200, detail: 'ready', checkedAt }
        : { state: 'down', httpStatus: 0, detail: 'draining', checkedAt }
    } catch (err) {
      error.value = describe(err)
      const unreachable = !(err instanceof ApiError) || err.unreachable
      const status = err instanceof ApiError ? err.status : 0
      liveness.value = unreachable
        ? { state: 'unreachable', httpStatus: 0, detail: '', checkedAt }
        : { state: 'down', httpStatus: status, detail: 'failing', checkedAt }
      // Without an answer the readiness is not known.
      readiness.value = { ...liveness.value }
    } finally {
      loading.value = false
    }
  }

  /** Fetches everything once; concurrent callers share one round trip. */
  function refresh(): Promise<void> {
    if (!inFlight) {
      inFlight = doRefresh().finally(() => {
        inFlight = null
      })
    }
    return inFlight
  }

  function startPolling(intervalMs = DEFAULT_POLL_MS): void {
    stopPolling()
    void refresh()
    timer = setInterval(() => {
      // A hidden tab does not need fresh numbers; catch up when shown again.
      if (typeof document !== 'undefined' && document.visibilityState === 'hidden') return
      void refresh()
    }, intervalMs)
  }

  function stopPolling(): void {
    if (timer !== undefined) clearInterval(timer)
    timer = undefined
  }

  return {
    info,
    fetchedAt,
    error,
    loading,
    liveness,
    readiness,
    apiDown,
    chaosEnabled,
    refresh,
    startPolling,
    stopPolling,
  }
})
