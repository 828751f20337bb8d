// Starts the real backend and nginx for the end-to-end tests and returns the
// teardown that stops both by PID.
//
//   backend: $E2E_BACKEND_BIN (built from apps/backend's ./cmd/backend when
//            missing), chaos on, listening on a free loopback port
//   nginx:   nginx.conf.template rendered by docker/render-nginx-conf.sh,
//            exactly as in the container, with its public and admin
//            listeners, serving a copy of dist/ and proxying to the backend
//            (servers.ts); config and logs in the run directory
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { freePort, rootDir, startNginx, stop, waitFor, type Nginx } from './servers'

export default async function globalSetup(): Promise<() => Promise<void>> {
  const workDir = resolve(process.env.E2E_WORK_DIR ?? join(rootDir, '.cache/frontend/e2e'))
  const runDir = join(workDir, 'run')
  rmSync(runDir, { recursive: true, force: true })
  mkdirSync(runDir, { recursive: true })

  const backendBin = resolve(process.env.E2E_BACKEND_BIN ?? join(workDir, 'backend'))
  if (!existsSync(backendBin)) {
    const go = spawnSync('go', ['build', '-o', backendBin, './cmd/backend'], {
      cwd: join(rootDir, 'apps/backend'),
      stdio: 'inherit',
    })
    if (go.status !== 0) throw new Error('building the backend failed')
  }

  const backendPort = await freePort()
  const backendURL = `http://127.0.0.1:${backendPort}`

  let backend: ChildProcess | undefined
  let nginx: Nginx | undefined
  const teardown = async () => {
    await nginx?.stop()
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
    nginx = await startNginx({ backendURL, logDir: runDir })
    await waitFor(
      `${nginx.adminURL}/readyz`,
      backend,
      'nginx → backend',
      join(runDir, 'nginx-error.log'),
    )
  } catch (err) {
    await teardown()
    throw err
  }

  // The full dashboard (chaos included) is the admin listener; the public
  // listener serves the SPA and /api/ only (public.spec.ts).
  process.env.E2E_BASE_URL = nginx.adminURL
  process.env.E2E_PUBLIC_URL = nginx.publicURL
  process.env.E2E_BACKEND_URL = backendURL
  writeFileSync(
    join(runDir, 'state.json'),
    JSON.stringify(
      {
        publicURL: nginx.publicURL,
        adminURL: nginx.adminURL,
        backendURL,
        backendPid: backend.pid,
        nginxPid: nginx.pid,
      },
      null,
      2,
    ),
  )
  console.log(
    `e2e: nginx ${nginx.publicURL} (public), ${nginx.adminURL} (admin), pid ${nginx.pid} → backend ${backendURL} (pid ${backend.pid})`,
  )
  return teardown
}
