import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { createMemoryHistory } from 'vue-router'
import ApiErrorBanner from '@/components/ApiErrorBanner.vue'
import StateMessage from '@/components/StateMessage.vue'
import OverviewView from '@/views/OverviewView.vue'
import App from '@/App.vue'
import { createAppRouter } from '@/router'
import { useServiceStore } from '@/stores/service'
import { deferred, healthyRoutes, json, mockFetch, mockFetchDown, sampleInfo } from './helpers'

describe('ApiErrorBanner', () => {
  it('is an alert with the message and a retry button', async () => {
    const wrapper = mount(ApiErrorBanner, { props: { message: 'Cannot reach it.' } })
    expect(wrapper.attributes('role')).toBe('alert')
    expect(wrapper.text()).toContain('The API is unavailable.')
    expect(wrapper.text()).toContain('Cannot reach it.')
    await wrapper.get('button').trigger('click')
    expect(wrapper.emitted('retry')).toHaveLength(1)
  })

  it('disables the button while retrying', () => {
    const wrapper = mount(ApiErrorBanner, { props: { message: 'x', retrying: true } })
    expect(wrapper.get('button').attributes('disabled')).toBeDefined()
    expect(wrapper.get('button').text()).toBe('Retrying…')
  })
})

describe('StateMessage', () => {
  it('renders loading as a status and error as an alert with retry', async () => {
    const loading = mount(StateMessage, { props: { kind: 'loading', message: 'Loading…' } })
    expect(loading.attributes('role')).toBe('status')
    expect(loading.find('button').exists()).toBe(false)
    const error = mount(StateMessage, { props: { kind: 'error', message: 'Broken' } })
    expect(error.attributes('role')).toBe('alert')
    await error.get('button').trigger('click')
    expect(error.emitted('retry')).toHaveLength(1)
  })
})

describe('OverviewView', () => {
  beforeEach(() => setActivePinia(createPinia()))

  it('shows a loading state before the first answer', () => {
    const store = useServiceStore()
    store.loading = true
    const wrapper = mount(OverviewView)
    expect(wrapper.find('[data-testid="state-loading"]').text()).toContain(
      'Loading service information',
    )
  })

  it('shows the service info and probes', async () => {
    mockFetch(healthyRoutes())
    const store = useServiceStore()
    await store.refresh()
    const wrapper = mount(OverviewView)
    expect(wrapper.get('[data-testid="info-version"]').text()).toBe('1.4.2')
    expect(wrapper.get('[data-testid="info-environment"]').text()).toBe('develop')
    expect(wrapper.text()).toContain('backend-7d9f')
    expect(wrapper.text()).toContain('0123456789ab')
    expect(wrapper.get('[data-testid="info-uptime"]').text()).toMatch(/^2m 5s/)
    expect(wrapper.get('[data-testid="probe-liveness"]').text()).toContain('ok')
    expect(wrapper.get('[data-testid="probe-readiness"]').text()).toContain('ready')
    expect(wrapper.find('a[href="/metrics"]').exists()).toBe(true)
    expect(wrapper.find('a[href^="/swagger"]').exists()).toBe(true)
  })

  it('shows a draining backend', async () => {
    mockFetch(healthyRoutes({ ...sampleInfo, ready: false }))
    const store = useServiceStore()
    await store.refresh()
    const wrapper = mount(OverviewView)
    expect(wrapper.get('[data-testid="probe-readiness"]').text()).toContain('draining')
    expect(wrapper.get('[data-testid="probe-liveness"]').text()).toContain('ok')
  })

  it('shows an empty state when the API is down and nothing was loaded', async () => {
    mockFetchDown()
    const store = useServiceStore()
    await store.refresh()
    const wrapper = mount(OverviewView)
    expect(wrapper.get('[data-testid="state-empty"]').text()).toContain('has not answered')
    expect(wrapper.get('[data-testid="probe-liveness"]').text()).toContain('unreachable')
    mockFetch(healthyRoutes())
    await wrapper.get('button').trigger('click')
    await flushPromises()
    expect(wrapper.get('[data-testid="info-version"]').text()).toBe('1.4.2')
  })
})

async function mountApp(path = '/') {
  const router = createAppRouter(createMemoryHistory())
  await router.push(path)
  await router.isReady()
  const wrapper = mount(App, { global: { plugins: [router] }, attachTo: document.body })
  return { wrapper, router }
}

describe('App', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    document.body.innerHTML = ''
  })

  it('has a skip link, landmarks and navigation', async () => {
    mockFetch(healthyRoutes())
    const { wrapper } = await mountApp()
    await flushPromises()
    const skip = wrapper.get('a.skip-link')
    expect(skip.attributes('href')).toBe('#main')
    expect(wrapper.find('header').exists()).toBe(true)
    expect(wrapper.find('nav[aria-label="Main"]').exists()).toBe(true)
    expect(wrapper.get('main').attributes('id')).toBe('main')
    await skip.trigger('click')
    expect(document.activeElement?.id).toBe('main')
    expect(wrapper.find('[data-testid="api-banner"]').exists()).toBe(false)
    expect(wrapper.get('.brand__env').text()).toBe('develop')
    wrapper.unmount()
  })

  it('shows the banner when the API is down, and retry clears it', async () => {
    mockFetchDown()
    const { wrapper } = await mountApp()
    await flushPromises()
    const banner = wrapper.get('[data-testid="api-banner"]')
    expect(banner.attributes('role')).toBe('alert')
    // The page still renders: never a blank screen.
    expect(wrapper.get('h1').text()).toBe('Service overview')
    const held = deferred<Response>()
    mockFetch({ ...healthyRoutes(), '/api/info': () => held.promise })
    await banner.get('button').trigger('click')
    expect(wrapper.get('[data-testid="api-banner"] button').text()).toBe('Retrying…')
    held.resolve(json(sampleInfo))
    await flushPromises()
    expect(wrapper.find('[data-testid="api-banner"]').exists()).toBe(false)
    wrapper.unmount()
  })

  it('renders the not-found page for unknown paths', async () => {
    mockFetch(healthyRoutes())
    const { wrapper } = await mountApp('/no/such/page')
    expect(wrapper.get('h1').text()).toBe('Page not found')
    wrapper.unmount()
  })

  it('loads the lazy routes', async () => {
    mockFetch({
      ...healthyRoutes(),
      '/chaos/faults': () =>
        json({ latencyMinMs: 0, latencyMaxMs: 0, errorRatio: 0, active: false }),
      '/api/stats': () => json({ windowSeconds: 300, stepSeconds: 5, points: [] }),
    })
    const { wrapper, router } = await mountApp()
    await router.push('/chaos')
    await flushPromises()
    expect(wrapper.get('h1').text()).toBe('Chaos testing')
    expect(document.title).toBe('Chaos · Platform')
    await router.push('/stats')
    await flushPromises()
    expect(wrapper.get('h1').text()).toBe('Live metrics')
    expect(document.activeElement?.id).toBe('main')
    wrapper.unmount()
    vi.unstubAllGlobals()
  })
})
