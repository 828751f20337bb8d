import { describe, expect, it } from 'vitest'
import { areaPath, indexAt, labelIndices, linePath, niceTicks, xAt, yAt, type Box } from '@/chart'

const box: Box = { width: 110, height: 60, left: 10, right: 0, top: 0, bottom: 10 }

describe('chart geometry', () => {
  it('picks nice ticks from 0 to at least the maximum', () => {
    expect(niceTicks(3)).toEqual([0, 1, 2, 3])
    expect(niceTicks(0.05)).toEqual([0, 0.02, 0.04, 0.06])
    expect(niceTicks(7.3)).toEqual([0, 2, 4, 6, 8])
    expect(niceTicks(1234)).toEqual([0, 500, 1000, 1500])
    expect(niceTicks(0)).toEqual([0, 1])
    expect(niceTicks(Number.NaN)).toEqual([0, 1])
    for (const max of [0.0007, 0.3, 9, 42, 99.9, 1e6]) {
      const t = niceTicks(max)
      expect(t[0]).toBe(0)
      expect(t.at(-1)!).toBeGreaterThanOrEqual(max)
      expect(t.length).toBeLessThanOrEqual(6)
    }
  })

  it('maps points into the plot area', () => {
    expect(xAt(0, 3, box)).toBe(10)
    expect(xAt(2, 3, box)).toBe(110)
    expect(yAt(0, 10, box)).toBe(50)
    expect(yAt(10, 10, box)).toBe(0)
    expect(yAt(20, 10, box)).toBe(0) // clamped
    expect(yAt(Number.NaN, 10, box)).toBe(50)
    expect(linePath([0, 5, 10], 10, box)).toBe('M10,50 L60,25 L110,0')
    expect(areaPath([0, 5, 10], 10, box)).toBe('M10,50 L60,25 L110,0 L110,50 L10,50 Z')
    expect(linePath([], 10, box)).toBe('')
    expect(areaPath([], 10, box)).toBe('')
  })

  it('spreads at most four x labels and finds the nearest point', () => {
    expect(labelIndices(3)).toEqual([0, 1, 2])
    expect(labelIndices(60)).toEqual([0, 20, 39, 59])
    expect(labelIndices(0)).toEqual([])
    expect(indexAt(10, 3, box)).toBe(0)
    expect(indexAt(58, 3, box)).toBe(1)
    expect(indexAt(500, 3, box)).toBe(2)
    expect(indexAt(-5, 3, box)).toBe(0)
  })
})
