import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { nextTick, ref } from 'vue'
import OverviewView from './views/OverviewView.vue'
import NotFoundView from './views/NotFoundView.vue'

declare module 'vue-router' {
  interface RouteMeta {
    title?: string
  }
}

export const routes: RouteRecordRaw[] = [
  { path: '/', name: 'overview', component: OverviewView, meta: { title: 'Overview' } },
  {
    path: '/chaos',
    name: 'chaos',
    // Lazy: the chunk loads on first visit, keeping the initial route small.
    component: () => import('./views/ChaosView.vue'),
    meta: { title: 'Chaos' },
  },
  {
    // Not /metrics: that path is the backend's Prometheus endpoint.
    path: '/stats',
    name: 'metrics',
    component: () => import('./views/MetricsView.vue'),
    meta: { title: 'Metrics' },
  },
  {
    path: '/:pathMatch(.*)*',
    name: 'not-found',
    component: NotFoundView,
    meta: { title: 'Not found' },
  },
]

/** True while a navigation (for example a lazy chunk) is pending. */
export const navigating = ref(false)
/** Set when a lazy route chunk failed to load (server down, new deploy). */
export const navigationError = ref<string | null>(null)

export function createAppRouter(history = createWebHistory()) {
  const r = createRouter({
    history,
    routes,
    scrollBehavior: (_to, _from, saved) => saved ?? { top: 0 },
  })
  r.beforeEach(() => {
    navigating.value = true
    navigationError.value = null
  })
  r.afterEach((to, from, failure) => {
    navigating.value = false
    if (failure) return
    document.title = to.meta.title ? `${to.meta.title} · Platform` : 'Platform'
    // Move focus to the new page for keyboard and screen reader users, but
    // not on the first load, where the browser's own order applies.
    if (from.matched.length > 0) {
      void nextTick(() => document.getElementById('main')?.focus())
    }
  })
  r.onError((err: unknown) => {
    navigating.value = false
    navigationError.value = err instanceof Error ? err.message : 'This page could not be loaded.'
  })
  return r
}

export const router = createAppRouter()
