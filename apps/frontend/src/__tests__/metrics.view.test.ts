import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { defineComponent, h, nextTick } from 'vue'
import { deferred, json, mockFetch, mockFetchDown, sampleStats } from './helpers'

// Chart.js needs a real canvas; record what the component hands it instead.
const charts = vi.hoisted(() => ({
  created: [] as { config: { data: { labels: string[]; datasets: { data: number[] }[] } } }[],
  updates: 0,
  destroyed: 0,
}))
vi.mock('@/charts', () => {
  class FakeChart {
    data: { labels: string[]; datasets: { data: number[] }[] }
    constructor(_ctx: unknown, config: { data: FakeChart['data'] }) {
      this.data = config.data
      charts.created.push({ config })
    }
    update() {
      charts.updates++
    }
    destroy() {
      charts.destroyed++
    }
  }
  return { Chart: FakeChart }
})

const { default: MetricsView } = await import('@/views/MetricsView.vue')
const { default: MetricsChart } = await import('@/components/MetricsChart.vue')

describe('MetricsChart', () => {
  beforeEach(() => {
    charts.created.length = 0
    charts.updates = 0
    charts.destroyed = 0
    // jsdom has no 2D canvas; give it a stand-in context.
    vi.spyOn(HTMLCanvasElement.prototype, 'getContext').mockReturnValue(
      {} as CanvasRenderingContext2D,
    )
  })

  it('creates, updates and destroys the chart', async () => {
    const Host = defineComponent({
      props: { values: { type: Array as () => number[], required: true } },
      setup(props) {
        return () =>
          h(MetricsChart, {
            label: 'Request rate',
            labels: props.values.map((_, i) => `t${i}`),
            values: props.values,
            color: '#1d4ed8',
            format: (v: number) => `${v}`,
            summary: 'Request rate, peak 3',
          })
      },
    })
    const wrapper = mount(Host, { props: { values: [1, 2, 3] } })
    expect(charts.created).toHaveLength(1)
    expect(charts.created[0]!.config.data.datasets[0]!.data).toEqual([1, 2, 3])
    const canvas = wrapper.get('canvas')
    expect(canvas.attributes('role')).toBe('img')
    expect(canvas.attributes('aria-label')).toBe('Request rate, peak 3')
    await wrapper.setProps({ values: [4, 5] })
    await nextTick()
    expect(charts.updates).toBe(1)
    wrapper.unmount()
    expect(charts.destroyed).toBe(1)
  })
})

describe('MetricsView', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    charts.created.length = 0
    vi.spyOn(HTMLCanvasElement.prototype, 'getContext').mockReturnValue(
      {} as CanvasRenderingContext2D,
    )
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
    expect(charts.created).toHaveLength(3)
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
