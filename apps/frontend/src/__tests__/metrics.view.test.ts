import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { defineComponent, h, nextTick } from 'vue'
import { deferred, json, mockFetch, mockFetchDown, sampleStats } from './helpers'

const { default: MetricsView } = await import('@/views/MetricsView.vue')
const { default: MetricsChart } = await import('@/components/MetricsChart.vue')

describe('MetricsChart', () => {
  const Host = defineComponent({
    props: { values: { type: Array as () => number[], required: true } },
    setup(props) {
      return () =>
        h(MetricsChart, {
          label: 'Request rate',
          labels: props.values.map((_, i) => `t${i}`),
          values: props.values,
          color: '#1d4ed8',
          format: (v: number) => `${v} req/s`,
          summary: 'Request rate, peak 3',
        })
    },
  })
  const points = (d: string | undefined) => (d ?? '').split(/[ML]/).filter((p) => p.trim()).length

  it('draws the series as an SVG line and area with a text alternative', async () => {
    const wrapper = mount(Host, { props: { values: [1, 2, 3] } })
    const svg = wrapper.get('svg')
    expect(svg.attributes('role')).toBe('img')
    expect(svg.attributes('aria-label')).toBe('Request rate, peak 3')
    expect(svg.get('title').text()).toBe('Request rate, peak 3')
    const line = wrapper.get('path.chart__line')
    expect(points(line.attributes('d'))).toBe(3)
    expect(line.attributes('stroke')).toBe('#1d4ed8')
    expect(wrapper.get('path.chart__area').attributes('d')).toMatch(/Z$/)
    // y axis from 0 to a nice maximum, formatted by the caller
    const yLabels = wrapper.findAll('.chart__grid text').map((t) => t.text())
    expect(yLabels[0]).toBe('0 req/s')
    expect(yLabels.at(-1)).toBe('3 req/s')
    expect(wrapper.findAll('.chart__x text').map((t) => t.text())).toEqual(['t0', 't1', 't2'])

    await wrapper.setProps({ values: [4, 5] })
    await nextTick()
    expect(points(wrapper.get('path.chart__line').attributes('d'))).toBe(2)
    wrapper.unmount()
  })

  it('reads out the value under the pointer', async () => {
    const wrapper = mount(Host, { props: { values: [1, 2, 3] } })
    const svg = wrapper.get('svg')
    vi.spyOn(svg.element, 'getBoundingClientRect').mockReturnValue(new DOMRect(0, 0, 480, 224))
    expect(wrapper.find('[data-testid="chart-readout"]').exists()).toBe(false)
    // jsdom has no PointerEvent; a MouseEvent of that type reaches the handler.
    svg.element.dispatchEvent(new MouseEvent('pointermove', { clientX: 470, bubbles: true }))
    await nextTick()
    expect(wrapper.get('[data-testid="chart-readout"]').text()).toContain(
      't2  Request rate: 3 req/s',
    )
    await svg.trigger('pointerleave')
    expect(wrapper.find('[data-testid="chart-readout"]').exists()).toBe(false)
    wrapper.unmount()
  })
})

describe('MetricsView', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
  })

  it('shows loading, then three charts with the data', async () => {
    const held = deferred<Response>()
    mockFetch({ '/api/stats': () => held.promise })
    const wrapper = mount(MetricsView)
    expect(wrapper.find('[data-testid="state-loading"]').exists()).toBe(true)
    held.resolve(json(sampleStats(6)))
    await flushPromises()
    expect(wrapper.find('[data-testid="state-loading"]').exists()).toBe(false)
    const figures = wrapper.findAll('figure.chart')
    expect(figures.map((f) => f.get('figcaption').text())).toEqual([
      'Request rate',
      'Error ratio',
      'p99 latency',
    ])
    expect(figures[0]!.attributes('data-points')).toBe('6')
    expect(wrapper.findAll('path.chart__line')).toHaveLength(3)
    const latest = wrapper.get('[data-testid="latest"]').text()
    expect(latest).toContain('6.00 req/s')
    expect(latest).toContain('25.0 %')
    expect(latest).toContain('600 ms')
    expect(wrapper.findAll('[data-testid="points"] tbody tr')).toHaveLength(6)
    wrapper.unmount()
  })

  it('shows an empty state when the window has no points', async () => {
    mockFetch({ '/api/stats': () => json({ windowSeconds: 300, stepSeconds: 5, points: [] }) })
    const wrapper = mount(MetricsView)
    await flushPromises()
    expect(wrapper.get('[data-testid="state-empty"]').text()).toContain('No requests recorded')
    expect(wrapper.find('figure.chart').exists()).toBe(false)
    wrapper.unmount()
  })

  it('shows an error with retry', async () => {
    mockFetchDown()
    const wrapper = mount(MetricsView)
    await flushPromises()
    const error = wrapper.get('[data-testid="state-error"]')
    expect(error.text()).toContain('not reachable')
    mockFetch({ '/api/stats': () => json(sampleStats(2)) })
    await error.get('button').trigger('click')
    await flushPromises()
    expect(wrapper.find('[data-testid="state-error"]').exists()).toBe(false)
    expect(wrapper.findAll('figure.chart')).toHaveLength(3)
    wrapper.unmount()
  })

  it('asks for a new window when the selection changes', async () => {
    const fetchMock = mockFetch({ '/api/stats': () => json(sampleStats(2)) })
    const wrapper = mount(MetricsView)
    await flushPromises()
    await wrapper.get('select#window').setValue('900')
    await flushPromises()
    expect(fetchMock.mock.calls.at(-1)?.[0]).toBe('/api/stats?window=900')
    wrapper.unmount()
  })
})
