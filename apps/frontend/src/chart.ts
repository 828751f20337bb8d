// Geometry of the metrics line charts, drawn as plain SVG (no chart library):
// nice axis ticks, the line and area paths, and which x labels to show.

export interface Box {
  width: number
  height: number
  /** Space for the y-axis labels (left) and the x-axis labels (bottom). */
  left: number
  bottom: number
  top: number
  right: number
}

/** Tick values from 0 up to a "nice" maximum (1, 2, 2.5 or 5 × 10^k) ≥ max. */
export function niceTicks(max: number, count = 4): number[] {
  if (!Number.isFinite(max) || max <= 0) return [0, 1]
  const rough = max / count
  const magnitude = 10 ** Math.floor(Math.log10(rough))
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * magnitude >= rough) ?? 10) * magnitude
  const ticks: number[] = []
  for (let v = 0; v < max + step / 2; v += step) ticks.push(Number(v.toPrecision(12)))
  if (ticks[ticks.length - 1]! < max) ticks.push(Number((ticks.length * step).toPrecision(12)))
  return ticks
}

/** x of point i of n inside the plot area. */
export function xAt(i: number, n: number, box: Box): number {
  const w = box.width - box.left - box.right
  return n <= 1 ? box.left + w : box.left + (w * i) / (n - 1)
}

/** y of value v on an axis from 0 to top. */
export function yAt(v: number, top: number, box: Box): number {
  const h = box.height - box.top - box.bottom
  const clamped = Math.min(Math.max(Number.isFinite(v) ? v : 0, 0), top)
  return box.top + h - (h * clamped) / top
}

const r = (n: number) => Math.round(n * 10) / 10

/** The line through every value ("M x,y L x,y …"), empty without values. */
export function linePath(values: number[], top: number, box: Box): string {
  return values
    .map((v, i) => `${i === 0 ? 'M' : 'L'}${r(xAt(i, values.length, box))},${r(yAt(v, top, box))}`)
    .join(' ')
}

/** The line closed down to the x axis, for the filled area under it. */
export function areaPath(values: number[], top: number, box: Box): string {
  if (values.length === 0) return ''
  const base = r(box.height - box.bottom)
  const first = r(xAt(0, values.length, box))
  const last = r(xAt(values.length - 1, values.length, box))
  return `${linePath(values, top, box)} L${last},${base} L${first},${base} Z`
}

/** Indices of at most max evenly spread x labels, always the last one. */
export function labelIndices(n: number, max = 4): number[] {
  if (n <= 0) return []
  if (n <= max) return [...Array(n).keys()]
  const out = new Set<number>()
  for (let k = 0; k < max; k++) out.add(Math.round(((n - 1) * k) / (max - 1)))
  return [...out]
}

/** The index of the point nearest to x. */
export function indexAt(x: number, n: number, box: Box): number {
  if (n <= 1) return 0
  const w = box.width - box.left - box.right
  const i = Math.round(((x - box.left) / w) * (n - 1))
  return Math.min(Math.max(i, 0), n - 1)
}
