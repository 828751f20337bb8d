import { describe, expect, it } from 'vitest'
import { formatDuration, formatMs, formatPercent, formatRate, shortCommit } from '@/format'

describe('format', () => {
  it.each([
    [0, '0s'],
    [12.5, '12s'],
    [125, '2m 5s'],
    [3 * 3600 + 120, '3h 2m'],
    [2 * 86400 + 3 * 3600, '2d 3h'],
    [-1, '—'],
    [Number.NaN, '—'],
  ])('formatDuration(%s) = %s', (input, out) => {
    expect(formatDuration(input)).toBe(out)
  })

  it('formats ratios, latencies and rates', () => {
    expect(formatPercent(0.25)).toBe('25.0 %')
    expect(formatMs(0.1234)).toBe('123 ms')
    expect(formatRate(1.234)).toBe('1.23 req/s')
  })

  it('shortens only hexadecimal commits', () => {
    expect(shortCommit('0123456789abcdef0123')).toBe('0123456789ab')
    expect(shortCommit('unknown')).toBe('unknown')
  })
})
