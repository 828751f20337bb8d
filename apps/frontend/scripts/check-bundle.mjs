#!/usr/bin/env node
// Measures the built SPA and fails the build when the JavaScript needed for
// the first route, or all the JavaScript of the app, grows past its budget,
// or when index.html carries inline script or style that the
// Content-Security-Policy would block.
//
// Initial route = the entry chunk of index.html plus every chunk it imports
// statically (transitively). Lazy chunks (dynamic imports) are listed apart.
// Total = every .js file the build wrote (initial and lazy chunks).
import { readdirSync, readFileSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dist = process.env.DIST_DIR ?? join(root, 'dist')
const budgetKB = Number(process.env.INITIAL_JS_BUDGET_KB ?? 40)
const totalBudgetKB = Number(process.env.TOTAL_JS_BUDGET_KB ?? 70)

const manifest = JSON.parse(readFileSync(join(dist, '.vite', 'manifest.json'), 'utf8'))
const entryKey = Object.keys(manifest).find((k) => manifest[k].isEntry)
if (!entryKey) throw new Error('no entry chunk in the Vite manifest')

function size(file) {
  const buf = readFileSync(join(dist, file))
  return { raw: buf.length, gzip: gzipSync(buf, { level: 9 }).length }
}
const kb = (n) => (n / 1024).toFixed(1).padStart(7) + ' KB'

// Walk static imports from the entry.
const initial = new Set()
const initialCss = new Set()
;(function walk(key) {
  const chunk = manifest[key]
  if (!chunk || initial.has(chunk.file)) return
  initial.add(chunk.file)
  for (const css of chunk.css ?? []) initialCss.add(css)
  for (const imp of chunk.imports ?? []) walk(imp)
})(entryKey)

const rows = []
let initialRaw = 0
let initialGzip = 0
for (const file of initial) {
  const s = size(file)
  initialRaw += s.raw
  initialGzip += s.gzip
  rows.push(['initial', file, s])
}
for (const file of initialCss) rows.push(['initial css', file, size(file)])

// Lazy chunks: each dynamic import with what it adds beyond the initial set.
for (const [key, chunk] of Object.entries(manifest)) {
  if (!chunk.isDynamicEntry) continue
  const files = new Set()
  ;(function walk(k) {
    const c = manifest[k]
    if (!c || initial.has(c.file) || files.has(c.file)) return
    files.add(c.file)
    for (const imp of c.imports ?? []) walk(imp)
  })(key)
  let raw = 0
  let gzip = 0
  for (const f of files) {
    const s = size(f)
    raw += s.raw
    gzip += s.gzip
  }
  rows.push([`lazy ${chunk.name ?? key}`, [...files].join(' + '), { raw, gzip }])
  for (const css of chunk.css ?? []) rows.push([`lazy css`, css, size(css)])
}

console.log('bundle sizes (gzip level 9):')
for (const [kind, file, s] of rows) {
  console.log(`  ${kind.padEnd(16)} ${kb(s.raw)} raw ${kb(s.gzip)} gzip  ${file}`)
}
console.log(
  `  initial-route JS: ${kb(initialRaw).trim()} raw, ${kb(initialGzip).trim()} gzip (budget ${budgetKB} KB gzip)`,
)

// Every JavaScript file of the build, whether the manifest lists it or not.
const jsFiles = readdirSync(join(dist, 'assets'), { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.js'))
let totalRaw = 0
let totalGzip = 0
for (const f of jsFiles) {
  const s = size(join('assets', f))
  totalRaw += s.raw
  totalGzip += s.gzip
}
console.log(
  `  all JS (${jsFiles.length} files): ${kb(totalRaw).trim()} raw, ${kb(totalGzip).trim()} gzip (budget ${totalBudgetKB} KB gzip)`,
)

let failed = false
if (initialGzip > budgetKB * 1024) {
  console.error(
    `FAIL: initial-route JS is ${kb(initialGzip).trim()} gzip, over the ${budgetKB} KB budget`,
  )
  failed = true
}
if (totalGzip > totalBudgetKB * 1024) {
  console.error(`FAIL: all JS is ${kb(totalGzip).trim()} gzip, over the ${totalBudgetKB} KB budget`)
  failed = true
}

// Strict CSP: no inline <script>/<style> and no style="" attributes.
const html = readFileSync(join(dist, 'index.html'), 'utf8')
const inlineScript = /<script\b(?![^>]*\bsrc=)[^>]*>/i.test(html)
const inlineStyle = /<style\b/i.test(html) || /\sstyle\s*=/i.test(html)
if (inlineScript || inlineStyle) {
  console.error('FAIL: dist/index.html has inline script or style, which the CSP blocks')
  failed = true
}
process.exit(failed ? 1 : 0)
