import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { ApiError, api } from '@/api/client'
import type { Stats } from '@/api/types'

export const WINDOW_CHOICES = [
  { seconds: 300, label: '5 minutes' },
  { seconds: 900, label: '15 minutes' },
  { seconds: 3600, label: '1 hour' },
] as const

export const MIN_WINDOW = 60
export const MAX_WINDOW = 3600

export const useMetricsStore = defineStore('metrics', () => {
  const stats = ref<Stats | null>(null)
  const windowSeconds = ref(300)
  const loading = ref(false)
  const error = ref<string | null>(null)
  const updatedAt = ref<Date | null>(null)
  let timer: ReturnType<typeof setTimeout> | undefined
  let controller: AbortController | null = null
  let polling = false

  const points = computed(() => stats.value?.points ?? [])
  const latest = computed(() => points.value.at(-1) ?? null)
  const empty = computed(() => stats.value !== null && points.value.length === 0)

  async function fetchStats(): Promise<void> {
    controller?.abort()
    const own = new AbortController()
    controller = own
    loading.value = true
    try {
      const win = Math.min(MAX_WINDOW, Math.max(MIN_WINDOW, Math.round(windowSeconds.value)))
      stats.value = await api.stats(win, own.signal)
      error.value = null
      updatedAt.value = new Date()
    } catch (err) {
      if (own.signal.aborted) return
      error.value =
        err instanceof ApiError && err.unreachable
          ? 'The statistics cannot be loaded: the API is not reachable.'
          : err instanceof Error
            ? err.message
            : String(err)
    } finally {
      if (controller === own) {
        loading.value = false
        controller = null
      }
    }
  }

  function schedule(): void {
    if (!polling) return
    // Follow the backend's resolution: nothing new appears between steps.
    const step = Math.max(2, stats.value?.stepSeconds ?? 5)
    timer = setTimeout(async () => {
      if (typeof document === 'undefined' || document.visibilityState !== 'hidden') {
        await fetchStats()
      }
      schedule()
    }, step * 1000)
  }

  function startPolling(): void {
    stopPolling()
    polling = true
    void fetchStats().then(schedule)
  }

  function stopPolling(): void {
    polling = false
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    controller?.abort()
    controller = null
    loading.value = false
  }

  async function setWindow(seconds: number): Promise<void> {
    windowSeconds.value = seconds
    await fetchStats()
  }

  return {
    stats,
    windowSeconds,
    loading,
    error,
    updatedAt,
    points,
    latest,
    empty,
    fetchStats,
    startPolling,
    stopPolling,
    setWindow,
  }
})
