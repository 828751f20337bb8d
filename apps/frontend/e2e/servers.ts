// Starting and stopping the processes the end-to-end tests run against:
// free ports, readiness waits, stop by PID, and nginx rendered from
// nginx.conf.template exactly as the container does.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chmodSync, cpSync, existsSync, mkdtempSync, openSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const frontendDir = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const rootDir = resolve(frontendDir, '../..')

export function freePort(): Promise<number> {
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

export function which(cmd: string, fallbacks: string[]): string {
  const found = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim()
  if (found) return found
  const alt = fallbacks.find((p) => existsSync(p))
  if (alt) return alt
  throw new Error(`${cmd} not found: run "go tool task frontend:e2e", which installs it`)
}

export async function waitFor(
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

/** Stops proc by PID with signal, escalating to SIGKILL after 10 s. */
export async function stop(proc: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!proc?.pid || proc.exitCode !== null || proc.signalCode !== null) return
  const exited = new Promise<void>((r) => proc.once('exit', () => r()))
  process.kill(proc.pid, signal)
  const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000))
  if ((await Promise.race([exited, timer])) === 'timeout') {
    process.kill(proc.pid, 'SIGKILL')
    await exited
  }
}

export interface Nginx {
  publicURL: string
  adminURL: string
  pid: number
  /** Stops nginx (SIGQUIT, by PID) and removes its served copy and temp files. */
  stop: () => Promise<void>
}

/**
 * Renders nginx.conf.template with docker/render-nginx-conf.sh (the
 * container's script) and starts nginx in the foreground as a child process.
 * Config and logs go to logDir. What the worker processes must read or write
 * (a copy of dist/, the temp directories, the pid file) lives in a fresh
 * mode-0755 directory under the system temp directory: when the tests run as
 * root, nginx's workers run as an unprivileged user, who cannot enter a
 * checkout whose parent directory is private (mode 0700, like a home
 * directory or a `mktemp -d` folder).
 */
export async function startNginx(opts: {
  backendURL: string
  logDir: string
  env?: Record<string, string>
}): Promise<Nginx> {
  const dist = join(frontendDir, 'dist')
  if (!existsSync(join(dist, 'index.html'))) {
    throw new Error(`${dist}/index.html missing: build first (go tool task frontend:build)`)
  }
  const nginxBin = which('nginx', ['/usr/sbin/nginx'])
  const [publicPort, adminPort] = [await freePort(), await freePort()]
  const serveDir = mkdtempSync(join(tmpdir(), 'platform-nginx-'))
  chmodSync(serveDir, 0o755)
  const root = join(serveDir, 'html')
  cpSync(dist, root, { recursive: true })

  const conf = join(opts.logDir, 'nginx.conf')
  const errorLog = join(opts.logDir, 'nginx-error.log')
  const render = spawnSync(
    'sh',
    [
      join(frontendDir, 'docker/render-nginx-conf.sh'),
      join(frontendDir, 'nginx.conf.template'),
      conf,
    ],
    {
      env: {
        ...process.env,
        BACKEND_URL: opts.backendURL,
        LISTEN_PORT: `127.0.0.1:${publicPort}`,
        ADMIN_LISTEN_PORT: `127.0.0.1:${adminPort}`,
        NGINX_ROOT: root,
        NGINX_RUN_DIR: join(serveDir, 'run'),
        NGINX_ERROR_LOG: errorLog,
        NGINX_ACCESS_LOG: join(opts.logDir, 'nginx-access.log'),
        ...opts.env,
      },
      encoding: 'utf8',
    },
  )
  const cleanup = () => rmSync(serveDir, { recursive: true, force: true })
  if (render.status !== 0) {
    cleanup()
    throw new Error(`rendering nginx.conf failed: ${render.stderr}`)
  }
  const args = ['-p', join(serveDir, 'run'), '-e', errorLog, '-c', conf]
  const check = spawnSync(nginxBin, [...args, '-t', '-q'], { encoding: 'utf8' })
  if (check.status !== 0) {
    cleanup()
    throw new Error(`nginx -t failed: ${check.stderr}`)
  }
  const out = openSync(join(opts.logDir, 'nginx.out'), 'a')
  const proc = spawn(nginxBin, [...args, '-g', 'daemon off;'], { stdio: ['ignore', out, out] })
  const nginx: Nginx = {
    publicURL: `http://127.0.0.1:${publicPort}`,
    adminURL: `http://127.0.0.1:${adminPort}`,
    pid: proc.pid ?? 0,
    stop: async () => {
      await stop(proc, 'SIGQUIT')
      cleanup()
    },
  }
  try {
    await waitFor(`${nginx.publicURL}/nginx-health`, proc, 'nginx', errorLog)
    await waitFor(`${nginx.adminURL}/nginx-health`, proc, 'nginx (admin)', errorLog)
  } catch (err) {
    await nginx.stop()
    throw err
  }
  return nginx
}
