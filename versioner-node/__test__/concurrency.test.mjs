// Calls run off the main thread and may overlap; the preflight stays atomic under them.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'

import { Versioner, dep, fresh, tempDir } from './helpers.mjs'

test('many concurrent calls on one instance all land', async () => {
  const vr = fresh()
  const writes = Array.from({ length: 60 }, (_, i) =>
    vr.trackDeployment(dep({ productName: `p${i % 6}`, version: `${i}`, environmentName: `env${i % 4}`, status: 'completed' })),
  )
  const reads = Array.from({ length: 20 }, () => vr.state())
  const done = await Promise.all([...writes, ...reads])
  assert.equal(done.length, 80)
  assert.equal((await vr.history({ limit: 1000 })).length, 60)
  assert.equal((await vr.products()).length, 6)
})

test('two concurrent starts never both pass a rule only one may pass', async (t) => {
  const path = join(tempDir(t), 'race.db')
  const a = new Versioner(path)
  const b = new Versioner(path) // a second connection to the same file
  await a.addRule({ name: 'One at a time', type: 'concurrency', max: 1 })
  for (let round = 0; round < 5; round++) {
    const env = `env${round}`
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).trackDeployment(dep({ version: `${round}.${i}`, environmentName: env }))),
    )
    const passed = results.filter((r) => r.status === 'fulfilled')
    const refused = results.filter((r) => r.status === 'rejected')
    assert.equal(passed.length, 1, `round ${round}: exactly one start passes`)
    assert.ok(refused.every((r) => r.reason.code === 'CONCURRENT_DEPLOYMENT'), refused.map((r) => r.reason.code).join())
  }
})

test('the event loop keeps turning while calls run', async () => {
  const vr = fresh()
  let ticks = 0
  const timer = setInterval(() => ticks++, 0)
  try {
    const pending = Array.from({ length: 200 }, (_, i) => vr.trackDeployment(dep({ version: `${i}`, status: 'completed' })))
    let settled = false
    const all = Promise.all(pending).then(() => {
      settled = true
    })
    // The promises were handed back before any work finished.
    assert.equal(settled, false)
    await all
    assert.ok(ticks > 0, 'timers fired while the calls were in flight')
  } finally {
    clearInterval(timer)
  }
})

test('calls on different instances do not interfere', async () => {
  const vrs = Array.from({ length: 4 }, () => fresh())
  await Promise.all(vrs.map((vr, i) => vr.trackDeployment(dep({ version: `${i}`, status: 'completed' }))))
  const versions = await Promise.all(vrs.map(async (vr) => (await vr.history()).map((d) => d.version)))
  assert.deepEqual(versions, [['0'], ['1'], ['2'], ['3']])
})
