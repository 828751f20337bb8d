import { defineStore } from 'pinia'
import { ref } from 'vue'
import { ApiError, api, rawRequest, type RawResponse } from '@/api/client'
import type { Faults, FaultsInput } from '@/api/types'

export interface CallResult {
  id: number
  label: string
  /** HTTP status, 0 when no answer came back. */
  status: number
  durationMs: number
  summary: string
  at: Date
}

export interface ProbeSummary {
  path: string
  total: number
  ok: number
  failed: number
  statuses: Record<string, number>
  maxMs: number
}

/** The endpoint that fault injection applies to and that the probe samples. */
export const PROBE_PATH = '/version'
const MAX_RESULTS = 20

function summarize(body: unknown): string {
  if (body === null || body === undefined) return ''
  if (typeof body === 'string') return body.slice(0, 200)
  return JSON.stringify(body).slice(0, 200)
}

export const useChaosStore = defineStore('chaos', () => {
  const faults = ref<Faults | null>(null)
  const loading = ref(false)
  const saving = ref(false)
  const error = ref<string | null>(null)
  /** True when the backend answers 404 on /chaos/*: chaos is switched off. */
  const disabled = ref(false)
  const results = ref<CallResult[]>([])
  const probe = ref<ProbeSummary | null>(null)
  const probing = ref(false)
  const pending = ref(0)
  let nextId = 1

  function fail(err: unknown): void {
    if (err instanceof ApiError && err.status === 404) {
      disabled.value = true
      error.value = null
      return
    }
    error.value = err instanceof Error ? err.message : String(err)
  }

  async function run(action: () => Promise<Faults>): Promise<void> {
    saving.value = true
    error.value = null
    try {
      faults.value = await action()
      disabled.value = false
    } catch (err) {
      fail(err)
    } finally {
      saving.value = false
    }
  }

  async function load(): Promise<void> {
    loading.value = true
    error.value = null
    try {
      faults.value = await api.faults()
      disabled.value = false
    } catch (err) {
      fail(err)
    } finally {
      loading.value = false
    }
  }

  const apply = (input: FaultsInput) => run(() => api.setFaults(input))
  const clear = () => run(() => api.clearFaults())

  function record(label: string, res: RawResponse | ApiError): CallResult {
    const result: CallResult =
      res instanceof ApiError
        ? { id: nextId++, label, status: 0, durationMs: 0, summary: res.message, at: new Date() }
        : {
            id: nextId++,
            label,
            status: res.status,
            durationMs: res.durationMs,
            summary: summarize(res.body),
            at: new Date(),
          }
    results.value = [result, ...results.value].slice(0, MAX_RESULTS)
    return result
  }

  async function call(label: string, send: () => Promise<RawResponse>): Promise<CallResult> {
    pending.value++
    try {
      const res = await send()
      return record(label, res)
    } catch (err) {
      return record(label, err instanceof ApiError ? err : new ApiError(String(err), 0))
    } finally {
      pending.value--
    }
  }

  const fireDelay = (seconds: number) =>
    call(`GET /chaos/delay/${seconds}`, () => api.delay(seconds))
  const fireStatus = (code: number) => call(`GET /chaos/status/${code}`, () => api.status(code))

  /** Sends `count` requests to the probe path one after another and counts the answers. */
  async function sample(count = 10): Promise<ProbeSummary> {
    probing.value = true
    const summary: ProbeSummary = {
      path: PROBE_PATH,
      total: 0,
      ok: 0,
      failed: 0,
      statuses: {},
      maxMs: 0,
    }
    try {
      for (let i = 0; i < count; i++) {
        let status = 0
        let ms = 0
        try {
          const res = await rawRequest(PROBE_PATH)
          status = res.status
          ms = res.durationMs
        } catch {
          status = 0
        }
        summary.total++
        if (status >= 200 && status < 400) summary.ok++
        else summary.failed++
        const key = status === 0 ? 'no answer' : String(status)
        summary.statuses[key] = (summary.statuses[key] ?? 0) + 1
        summary.maxMs = Math.max(summary.maxMs, ms)
        probe.value = { ...summary, statuses: { ...summary.statuses } }
      }
    } finally {
      probing.value = false
    }
    return summary
  }

  return {
    faults,
    loading,
    saving,
    error,
    disabled,
    results,
    probe,
    probing,
    pending,
    load,
    apply,
    clear,
    fireDelay,
    fireStatus,
    sample,
  }
})
