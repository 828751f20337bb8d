// The nginx configuration itself, against real nginx: its own instances,
// rendered from nginx.conf.template with small limits, in front of a
// recording backend (a Node HTTP server that keeps what it receives and can
// hold answers), so the tests see exactly what nginx forwards.
import { test as base, expect } from '@playwright/test'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import { connect } from 'node:net'
import { join } from 'node:path'
import { frontendDir, startNginx, type Nginx } from './servers'

interface Seen {
  method: string
  url: string
  headers: IncomingHttpHeaders
}

class Recorder {
  seen: Seen[] = []
  held: (() => void)[] = []
  server: Server
  constructor() {
    this.server = createServer((req, res) => {
      this.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers })
      const answer = () => {
        res.setHeader('Content-Type', 'application/json')
        res.end('{"ok":true}')
      }
      if (req.url?.startsWith('/api/hold')) this.held.push(answer)
      else req.resume().on('end', answer)
    })
  }
  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r))
    const addr = this.server.address()
    return `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`
  }
  release(): void {
    for (const answer of this.held.splice(0)) answer()
  }
  async close(): Promise<void> {
    this.release()
    this.server.closeAllConnections()
    await new Promise((r) => this.server.close(r))
  }
}

interface WorkerFixtures {
  recorder: Recorder
  nginxFor: (env: Record<string, string>) => Promise<Nginx>
}

const test = base.extend<object, WorkerFixtures>({
  recorder: [
    async ({}, use) => {
      const r = new Recorder()
      await r.start()
      await use(r)
      await r.close()
    },
    { scope: 'worker' },
  ],
  nginxFor: [
    async ({ recorder }, use) => {
      const started: Nginx[] = []
      const logs = mkdtempSync(join(frontendDir, 'test-results', 'nginx-'))
      const addr = recorder.server.address()
      const backendURL = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`
      await use(async (env) => {
        const logDir = join(logs, String(started.length))
        mkdirSync(logDir, { recursive: true })
        const n = await startNginx({ backendURL, logDir, env })
        started.push(n)
        return n
      })
      for (const n of started) await n.stop()
      rmSync(logs, { recursive: true, force: true })
    },
    { scope: 'worker' },
  ],
})

test.beforeAll(() => mkdirSync(join(frontendDir, 'test-results'), { recursive: true }))

test('public: /api/ only; admin: the operational paths too; readiness toggles on neither', async ({
  nginxFor,
  recorder,
  request,
}) => {
  const n = await nginxFor({})
  const operational = [
    '/chaos/faults',
    '/healthz',
    '/readyz',
    '/version',
    '/metrics',
    '/swagger/',
    '/openapi.yaml',
  ]
  recorder.seen = []
  expect((await request.get(`${n.publicURL}/api/info`)).status()).toBe(200)
  for (const path of operational) {
    const res = await request.get(`${n.publicURL}${path}`)
    expect(res.status(), `public ${path}`).toBe(404)
    expect(res.headers()['content-type'], `public ${path}`).toBe('application/problem+json')
  }
  expect(recorder.seen.map((s) => s.url)).toEqual(['/api/info'])

  recorder.seen = []
  for (const path of ['/api/info', ...operational]) {
    expect((await request.get(`${n.adminURL}${path}`)).status(), `admin ${path}`).toBe(200)
  }
  expect(recorder.seen.map((s) => s.url)).toEqual(['/api/info', ...operational])

  recorder.seen = []
  for (const url of [n.publicURL, n.adminURL]) {
    for (const path of ['/readyz/enable', '/readyz/disable']) {
      expect((await request.post(`${url}${path}`)).status(), `${url} ${path}`).toBe(404)
    }
  }
  expect(recorder.seen).toEqual([])
})

test('a client cannot set X-Forwarded-Proto or X-Forwarded-For', async ({
  nginxFor,
  recorder,
  request,
}) => {
  const n = await nginxFor({})
  recorder.seen = []
  await request.get(`${n.publicURL}/api/info`, {
    headers: {
      'X-Forwarded-Proto': 'https',
      'X-Forwarded-For': '203.0.113.7',
      'X-Real-IP': '203.0.113.8',
    },
  })
  const h = recorder.seen[0]!.headers
  expect(h['x-forwarded-proto']).toBe('http')
  expect(h['x-forwarded-for']).toBe('127.0.0.1')
  expect(h['x-real-ip']).toBe('127.0.0.1')
})

test("REAL_IP_FROM: only the listed proxies name the client; the scheme stays nginx's", async ({
  nginxFor,
  recorder,
  request,
}) => {
  const n = await nginxFor({ REAL_IP_FROM: '127.0.0.1/32' })
  recorder.seen = []
  await request.get(`${n.publicURL}/api/info`, {
    headers: { 'X-Forwarded-Proto': 'https', 'X-Forwarded-For': '203.0.113.7' },
  })
  const h = recorder.seen[0]!.headers
  expect(h['x-forwarded-for']).toBe('203.0.113.7')
  expect(h['x-real-ip']).toBe('203.0.113.7')
  expect(h['x-forwarded-proto']).toBe('http')
})

/** Opens a raw connection, writes data and resolves with what the server sent until it closed. */
function rawExchange(
  url: string,
  data: string,
  limitMs: number,
): Promise<{ text: string; closedBy: 'server' | 'limit' }> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(data))
    let text = ''
    const limit = setTimeout(() => {
      socket.destroy()
      resolve({ text, closedBy: 'limit' })
    }, limitMs)
    socket.on('data', (b) => (text += b.toString()))
    socket.on('close', () => {
      clearTimeout(limit)
      resolve({ text, closedBy: 'server' })
    })
    socket.on('error', reject)
  })
}

test('client_header_timeout and client_body_timeout end slow clients', async ({
  nginxFor,
  recorder,
}) => {
  const n = await nginxFor({ CLIENT_HEADER_TIMEOUT: '1s', CLIENT_BODY_TIMEOUT: '1s' })
  recorder.seen = []
  // A header that never ends: nginx closes the connection.
  const header = await rawExchange(
    n.publicURL,
    'GET /api/info HTTP/1.1\r\nHost: x\r\nX-Slow: ',
    15_000,
  )
  expect(header.closedBy).toBe('server')
  // A body that stops short of its Content-Length: nginx ends the request
  // (408 in its log) and closes the connection without proxying anything.
  const body = await rawExchange(
    n.publicURL,
    'POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nonly ten b',
    15_000,
  )
  expect(body.closedBy).toBe('server')
  expect(body.text).not.toMatch(/^HTTP\/1\.1 2/)
  expect(recorder.seen).toEqual([])
})

test('limit_conn: more open connections per client than allowed get 429', async ({
  nginxFor,
  recorder,
  request,
}) => {
  const n = await nginxFor({ CONN_LIMIT_PER_CLIENT: '2' })
  recorder.seen = []
  const first = request.get(`${n.publicURL}/api/hold/1`)
  const second = request.get(`${n.publicURL}/api/hold/2`)
  await expect.poll(() => recorder.held.length).toBe(2)
  const third = await request.get(`${n.publicURL}/api/info`)
  expect(third.status()).toBe(429)
  recorder.release()
  expect((await first).status()).toBe(200)
  expect((await second).status()).toBe(200)
  expect((await request.get(`${n.publicURL}/api/info`)).status()).toBe(200)
})
