import { beforeEach, describe, expect, it } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { nextTick } from 'vue'
import ChaosView from '@/views/ChaosView.vue'
import { useServiceStore } from '@/stores/service'
import { deferred, json, mockFetch, problem, sampleInfo } from './helpers'

const off = { latencyMinMs: 0, latencyMaxMs: 0, errorRatio: 0, active: false }

describe('ChaosView', () => {
  beforeEach(() => setActivePinia(createPinia()))

  it('shows a loading state, then the current faults', async () => {
    const held = deferred<Response>()
    mockFetch({ 'GET /chaos/faults': () => held.promise })
    const wrapper = mount(ChaosView)
    await nextTick()
    expect(wrapper.find('[data-testid="state-loading"]').exists()).toBe(true)
    held.resolve(json({ latencyMinMs: 100, latencyMaxMs: 200, errorRatio: 0.5, active: true }))
    await flushPromises()
    expect(wrapper.find('[data-testid="state-loading"]').exists()).toBe(false)
    expect(wrapper.get('[data-testid="faults-state"]').text()).toContain('Faults active')
    expect(wrapper.get('[data-testid="faults-state"]').text()).toContain('100–200 ms latency')
    expect((wrapper.get('#latency-max').element as HTMLInputElement).value).toBe('200')
  })

  it('shows a clear disabled state when the API reports chaos off', async () => {
    const service = useServiceStore()
    service.info = { ...sampleInfo, chaosEnabled: false, environment: 'production' }
    mockFetch({ 'GET /chaos/faults': () => problem(404, 'not found') })
    const wrapper = mount(ChaosView)
    await flushPromises()
    const notice = wrapper.get('[data-testid="chaos-disabled"]')
    expect(notice.text()).toContain('Chaos is disabled')
    expect(notice.text()).toContain('production')
    for (const fs of wrapper.findAll('fieldset')) {
      expect(fs.attributes('disabled')).toBeDefined()
    }
    expect(wrapper.find('[data-testid="state-error"]').exists()).toBe(false)
  })

  it('says where chaos is served when the backend has it on but /chaos is not reachable here', async () => {
    const service = useServiceStore()
    service.info = { ...sampleInfo, chaosEnabled: true }
    mockFetch({ 'GET /chaos/faults': () => problem(404, 'served only inside the cluster') })
    const wrapper = mount(ChaosView)
    await flushPromises()
    const notice = wrapper.get('[data-testid="chaos-not-here"]')
    expect(notice.text()).toContain('kubectl port-forward deploy/frontend 8081')
    expect(wrapper.find('[data-testid="chaos-disabled"]').exists()).toBe(false)
    for (const fs of wrapper.findAll('fieldset')) {
      expect(fs.attributes('disabled')).toBeDefined()
    }
  })

  it('shows the disabled state when /chaos answers 404 before info is known', async () => {
    mockFetch({ 'GET /chaos/faults': () => problem(404, 'not found') })
    const wrapper = mount(ChaosView)
    await flushPromises()
    expect(wrapper.find('[data-testid="chaos-disabled"]').exists()).toBe(true)
  })

  it('shows an error with retry when loading fails', async () => {
    mockFetch({ 'GET /chaos/faults': () => problem(500, 'exploded') })
    const wrapper = mount(ChaosView)
    await flushPromises()
    const error = wrapper.get('[data-testid="state-error"]')
    expect(error.text()).toContain('exploded')
    mockFetch({ 'GET /chaos/faults': () => json(off) })
    await error.get('button').trigger('click')
    await flushPromises()
    expect(wrapper.find('[data-testid="state-error"]').exists()).toBe(false)
  })

  it('validates and applies the form', async () => {
    const fetchMock = mockFetch({
      'GET /chaos/faults': () => json(off),
      'POST /chaos/faults': (init) => json({ ...JSON.parse(String(init?.body)), active: true }),
    })
    const wrapper = mount(ChaosView)
    await flushPromises()
    await wrapper.get('#latency-min').setValue('300')
    await wrapper.get('#latency-max').setValue('100')
    expect(wrapper.get('#latency-max-error').text()).toContain('at least the minimum')
    expect(wrapper.get('button[type="submit"]').attributes('disabled')).toBeDefined()
    await wrapper.get('#latency-max').setValue('500')
    await wrapper.get('#error-ratio').setValue('0.25')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    const post = fetchMock.mock.calls.find((c) => c[1]?.method === 'POST')
    expect(JSON.parse(String(post?.[1]?.body))).toEqual({
      latencyMinMs: 300,
      latencyMaxMs: 500,
      errorRatio: 0.25,
    })
    expect(wrapper.get('[data-testid="faults-state"]').text()).toContain(
      '300–500 ms latency, 25 % errors',
    )
  })

  it('fires a status call and lists the result', async () => {
    mockFetch({
      'GET /chaos/faults': () => json(off),
      '/chaos/status/418': () => json({ status: 418 }, 418),
    })
    const wrapper = mount(ChaosView)
    await flushPromises()
    expect(wrapper.find('[data-testid="results-empty"]').exists()).toBe(true)
    const forms = wrapper.findAll('form')
    await forms[forms.length - 1]!.trigger('submit')
    await flushPromises()
    const table = wrapper.get('[data-testid="results"]')
    expect(table.text()).toContain('GET /chaos/status/418')
    expect(table.text()).toContain('418')
  })

  it('samples the API and summarises the answers', async () => {
    mockFetch({
      'GET /chaos/faults': () => json(off),
      '/version': () => problem(503, 'injected fault'),
    })
    const wrapper = mount(ChaosView)
    await flushPromises()
    await wrapper.get('[data-testid="sample-button"]').trigger('click')
    await flushPromises()
    const summary = wrapper.get('[data-testid="sample-summary"]').text()
    expect(summary).toContain('10 sent: 0 succeeded, 10 failed')
    expect(summary).toContain('503 × 10')
  })
})
