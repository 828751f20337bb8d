// Starts the real backend and nginx for the end-to-end tests and returns the
// teardown that stops both by PID.
//
//   backend: $E2E_BACKEND_BIN (built from apps/backend's ./cmd/backend when
//            missing), chaos on, listening on a free loopback port
//   nginx:   nginx.conf.template rendered by docker/render-nginx-conf.sh,
//            exactly as in the container, serving dist/ and proxying to the
//            backend; pid, logs and temp files in a fresh directory
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const frontendDir = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const rootDir = resolve(frontendDir, '../..')

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', rej)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => res(port))
    })
  })
}

function which(cmd: string, fallbacks: string[]): string {
  const found = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim()
  if (found) return found
  const alt = fallbacks.find((p) => existsSync(p))
  if (alt) return alt
  throw new Error(`${cmd} not found: run "go tool task frontend:e2e", which installs it`)
}

async function waitFor(
  url: string,
  proc: ChildProcess,
  name: string,
  log: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`${name} exited (${proc.exitCode ?? proc.signalCode}); see ${log}`)
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) })
      if (res.ok) return
      last = `HTTP ${res.status}`
    } catch (err) {
      last = String(err)
    }
    await new Promise((r) => setTimeout(r, 150))
  }
  throw new Error(`${name} not ready at ${url} after ${timeoutMs} ms (${last}); see ${log}`)
}

async function stop(proc: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!proc?.pid || proc.exitCode !== null || proc.signalCode !== null) return
  const exited = new Promise<void>((r) => proc.once('exit', () => r()))
  process.kill(proc.pid, signal)
  const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000))
  if ((await Promise.race([exited, timer])) === 'timeout') {
    process.kill(proc.pid, 'SIGKILL')
    await exited
  }
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  const workDir = resolve(process.env.E2E_WORK_DIR ?? join(rootDir, '.cache/frontend/e2e'))
  const runDir = join(workDir, 'run')
  rmSync(runDir, { recursive: true, force: true })
  mkdirSync(runDir, { recursive: true })
  // nginx workers run as an unprivileged user when the tests run as root.
  chmodSync(workDir, 0o755)
  chmodSync(runDir, 0o755)

  const dist = join(frontendDir, 'dist')
  if (!existsSync(join(dist, 'index.html'))) {
    throw new Error(`${dist}/index.html missing: build first (go tool task frontend:build)`)
  }

  const backendBin = resolve(process.env.E2E_BACKEND_BIN ?? join(workDir, 'backend'))
  if (!existsSync(backendBin)) {
    const go = spawnSync('go', ['build', '-o', backendBin, './cmd/backend'], {
      cwd: join(rootDir, 'apps/backend'),
      stdio: 'inherit',
    })
    if (go.status !== 0) throw new Error('building the backend failed')
  }
  const nginxBin = which('nginx', ['/usr/sbin/nginx'])

  const backendPort = await freePort()
  const nginxPort = await freePort()
  const backendURL = `http://127.0.0.1:${backendPort}`
  const baseURL = `http://127.0.0.1:${nginxPort}`

  let backend: ChildProcess | undefined
  let nginx: ChildProcess | undefined
  const teardown = async () => {
    await stop(nginx, 'SIGQUIT')
    await stop(backend, 'SIGTERM')
  }

  try {
    const backendLog = join(runDir, 'backend.log')
    const out = openSync(backendLog, 'a')
    backend = spawn(backendBin, [], {
      cwd: rootDir,
      env: {
        ...process.env,
        LISTEN_ADDR: `127.0.0.1:${backendPort}`,
        CHAOS_ENABLED: 'true',
        ENVIRONMENT: 'e2e',
        UI_MESSAGE: 'Hello from the end-to-end tests',
        DRAIN_DELAY: '0s',
        SHUTDOWN_TIMEOUT: '5s',
        LOG_LEVEL: 'warn',
        OTEL_EXPORTER_OTLP_ENDPOINT: '',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '',
      },
      stdio: ['ignore', out, out],
    })
    await waitFor(`${backendURL}/readyz`, backend, 'backend', backendLog)

    const conf = join(runDir, 'nginx.conf')
    const errorLog = join(runDir, 'nginx-error.log')
    const renderEnv = {
      ...process.env,
      BACKEND_URL: backendURL,
      LISTEN_PORT: `127.0.0.1:${nginxPort}`,
      NGINX_ROOT: dist,
      NGINX_RUN_DIR: runDir,
      NGINX_ERROR_LOG: errorLog,
      NGINX_ACCESS_LOG: join(runDir, 'nginx-access.log'),
    }
    const render = spawnSync(
      'sh',
      [
        join(frontendDir, 'docker/render-nginx-conf.sh'),
        join(frontendDir, 'nginx.conf.template'),
        conf,
      ],
      { env: renderEnv, encoding: 'utf8' },
    )
    if (render.status !== 0) throw new Error(`rendering nginx.conf failed: ${render.stderr}`)
    const nginxArgs = ['-p', runDir, '-e', errorLog, '-c', conf]
    const check = spawnSync(nginxBin, [...nginxArgs, '-t', '-q'], { encoding: 'utf8' })
    if (check.status !== 0) throw new Error(`nginx -t failed: ${check.stderr}`)
    const nginxOut = openSync(join(runDir, 'nginx.out'), 'a')
    nginx = spawn(nginxBin, [...nginxArgs, '-g', 'daemon off;'], {
      stdio: ['ignore', nginxOut, nginxOut],
    })
    await waitFor(`${baseURL}/nginx-health`, nginx, 'nginx', errorLog)
    await waitFor(`${baseURL}/readyz`, nginx, 'nginx → backend', errorLog)
  } catch (err) {
    await teardown()
    throw err
  }

  process.env.E2E_BASE_URL = baseURL
  process.env.E2E_BACKEND_URL = backendURL
  writeFileSync(
    join(runDir, 'state.json'),
    JSON.stringify({ baseURL, backendURL, backendPid: backend.pid, nginxPid: nginx.pid }, null, 2),
  )
  console.log(
    `e2e: nginx ${baseURL} (pid ${nginx.pid}) → backend ${backendURL} (pid ${backend.pid})`,
  )
  return teardown
}
