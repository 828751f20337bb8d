/** Shapes of the backend API (apps/backend/openapi.yaml is the source of truth). */

export interface ServiceInfo {
  name: string
  version: string
  commit: string
  hostname: string
  goVersion: string
  uptimeSeconds: number
  /** What the backend's readiness probe reports (false while draining). */
  ready: boolean
  startedAt: string
  message: string
  color: string
  environment: string
  chaosEnabled: boolean
}

export interface ProbeStatus {
  status: string
}

export interface VersionInfo {
  version: string
  commit: string
}

export interface StatsPoint {
  time: string
  requestRate: number
  errorRatio: number
  p99Seconds: number
}

export interface Stats {
  windowSeconds: number
  stepSeconds: number
  points: StatsPoint[]
}

export interface Faults {
  latencyMinMs: number
  latencyMaxMs: number
  errorRatio: number
  active: boolean
}

export type FaultsInput = Omit<Faults, 'active'>

/** RFC 9457 problem details, as every backend error is shaped. */
export interface Problem {
  type?: string
  title?: string
  status?: number
  detail?: string
  instance?: string
}
