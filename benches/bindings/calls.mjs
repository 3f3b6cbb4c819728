// 5. Bindings, the Node side: the calls `benches/calls.rs measure` times in Rust, through the
// napi-rs addon (a release build, loaded from the path given), timed the same way: each call
// on its own (awaited: the binding's calls return promises and run on the libuv pool) after a
// warm-up, median per call; `checkSync` too, on the JavaScript thread. Prints one JSON line.
//
//     node benches/bindings/calls.mjs ADDON.node FIXTURE_DB N
import { createRequire } from 'node:module'
import { resolve } from 'node:path'

const [addon, db, nArg] = process.argv.slice(2)
const n = Number(nArg)
const { Versioner } = createRequire(import.meta.url)(resolve(addon))
const clock = () => process.hrtime.bigint()

function summary(samples) {
  const s = samples.map(Number).sort((a, b) => a - b)
  const at = (q) => s[Math.round((s.length - 1) * q)]
  return {
    n: s.length, median: at(0.5), p50: at(0.5), p99: at(0.99),
    min: s[0], max: s[s.length - 1], mean: s.reduce((a, b) => a + b, 0) / s.length,
  }
}

const vr = new Versioner(db) // synchronous=FULL, the default, as in Rust and Python
const req = { productName: 'p0', version: 'bench', environmentName: 'e9', deployedBy: 'dana' }
async function check() {
  const v = await vr.check(req)
  if (v.decision !== 'allowed') throw new Error(`blocked: ${JSON.stringify(v)}`)
}

for (let i = 0; i < n / 10; i++) await check()
const checks = []
for (let i = 0; i < n; i++) {
  const t = clock()
  await check()
  checks.push(clock() - t)
}

// The synchronous variant, on the JavaScript thread (no libuv hop).
for (let i = 0; i < n / 10; i++) vr.checkSync(req)
const checksSync = []
for (let i = 0; i < n; i++) {
  const t = clock()
  const v = vr.checkSync(req)
  checksSync.push(clock() - t)
  if (v.decision !== 'allowed') throw new Error(`blocked: ${JSON.stringify(v)}`)
}

const rounds = Math.max(Math.floor(n / 10), 50)
const started = []
const completed = []
for (let i = 0; i < rounds + Math.floor(rounds / 10); i++) {
  let t = clock()
  const d = await vr.trackDeployment({ ...req, status: 'started' })
  const ts = clock() - t
  if (!d.preflight || d.preflight.verdict.decision !== 'allowed') throw new Error('not allowed')
  t = clock()
  await vr.trackDeployment({ productName: 'p0', version: 'bench', environmentName: 'e9', status: 'completed' })
  const tc = clock() - t
  if (i >= Math.floor(rounds / 10)) {
    started.push(ts)
    completed.push(tc)
  }
}
console.log(JSON.stringify({
  lang: 'node', check_ns: summary(checks), check_sync_ns: summary(checksSync),
  track_started_ns: summary(started), track_completed_ns: summary(completed),
}))
