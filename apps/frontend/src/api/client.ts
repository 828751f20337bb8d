import type {
  Faults,
  FaultsInput,
  ProbeStatus,
  Problem,
  ServiceInfo,
  Stats,
  VersionInfo,
} from './types'

/** Default time a request may take before it counts as failed. */
export const DEFAULT_TIMEOUT_MS = 10_000

/**
 * An API call that did not succeed. `status` is 0 when no HTTP answer came
 * back at all (network error, timeout): the backend or nginx is unreachable.
 */
export class ApiError extends Error {
  readonly status: number
  readonly problem?: Problem

  constructor(message: string, status: number, problem?: Problem) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.problem = problem
  }

  /** True when the server could not be reached or answered with a gateway error. */
  get unreachable(): boolean {
    return this.status === 0 || this.status === 502 || this.status === 504
  }
}

export interface RawResponse {
  status: number
  ok: boolean
  durationMs: number
  body: unknown
}

interface RequestOptions {
  method?: string
  body?: unknown
  timeoutMs?: number
  signal?: AbortSignal
}

async function parseBody(res: Response): Promise<unknown> {
  const text = await res.text()
  if (!text) return null
  const type = res.headers.get('content-type') ?? ''
  if (type.includes('json')) {
    try {
      return JSON.parse(text)
    } catch {
      return text
    }
  }
  return text
}

/** Sends a request and returns status, timing and body whatever the status. */
export async function rawRequest(path: string, opts: RequestOptions = {}): Promise<RawResponse> {
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS)
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout
  const headers: Record<string, string> = { Accept: 'application/json' }
  let body: string | undefined
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(opts.body)
  }
  const started = performance.now()
  let res: Response
  try {
    res = await fetch(path, { method: opts.method ?? 'GET', headers, body, signal })
  } catch (err) {
    const reason =
      err instanceof DOMException && err.name === 'TimeoutError'
        ? 'timed out'
        : 'could not be reached'
    throw new ApiError(`${path} ${reason}`, 0)
  }
  const parsed = await parseBody(res)
  return {
    status: res.status,
    ok: res.ok,
    durationMs: Math.round(performance.now() - started),
    body: parsed,
  }
}

function asProblem(body: unknown): Problem | undefined {
  return body && typeof body === 'object' ? (body as Problem) : undefined
}

/** Sends a request and returns the JSON body, or throws ApiError on a non-2xx answer. */
export async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await rawRequest(path, opts)
  if (!res.ok) {
    const problem = asProblem(res.body)
    const detail = problem?.detail || problem?.title || `HTTP ${res.status}`
    throw new ApiError(`${path}: ${detail}`, res.status, problem)
  }
  return res.body as T
}

export const api = {
  info: (signal?: AbortSignal) => request<ServiceInfo>('/api/info', { signal }),
  version: () => request<VersionInfo>('/version'),
  stats: (windowSeconds: number, signal?: AbortSignal) =>
    request<Stats>(`/api/stats?window=${encodeURIComponent(windowSeconds)}`, { signal }),
  faults: () => request<Faults>('/chaos/faults'),
  setFaults: (input: FaultsInput) =>
    request<Faults>('/chaos/faults', { method: 'POST', body: input }),
  clearFaults: () => request<Faults>('/chaos/faults', { method: 'DELETE' }),
  delay: (seconds: number) =>
    rawRequest(`/chaos/delay/${encodeURIComponent(seconds)}`, { timeoutMs: (seconds + 10) * 1000 }),
  status: (code: number) => rawRequest(`/chaos/status/${encodeURIComponent(code)}`),
}

export type { ProbeStatus }
