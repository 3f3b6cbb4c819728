// Waiting instead of failing: trackDeployment(options, { waitMs }) waits in the environment's
// queue for a block time alone clears; queue() shows the waiters; past the limit it rejects with
// the block; a bad waitMs rejects with INVALID_INPUT naming it, writing nothing.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { dep, fresh, rejectsWith } from './helpers.mjs'

const ONE_AT_A_TIME = { rules: [{ name: 'One at a time', type: 'concurrency', max: 1 }] }
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

test('a waiter is queued and goes when the deployment in progress completes', async () => {
  const vr = fresh()
  await vr.applyPolicy(ONE_AT_A_TIME)
  await vr.trackDeployment(dep({ version: '1.0', environmentName: 'production' }))
  const waiting = vr.trackDeployment(
    dep({ version: '1.1', environmentName: 'production', deployedBy: 'dana' }),
    { waitMs: 30_000 },
  )
  let queued = []
  for (let i = 0; i < 200 && queued.length === 0; i++) {
    queued = await vr.queue('production')
    if (queued.length === 0) await sleep(50)
  }
  assert.equal(queued.length, 1)
  const [entry] = queued
  assert.deepEqual(
    [entry.position, entry.productName, entry.version, entry.environmentName, entry.waiter],
    [1, 'api', '1.1', 'production', 'dana'],
  )
  assert.ok(entry.since instanceof Date && entry.heartbeatAt instanceof Date)
  await vr.trackDeployment(dep({ version: '1.0', environmentName: 'production', status: 'completed' }))
  const d = await waiting
  assert.equal(d.version, '1.1')
  assert.deepEqual(await vr.queue(), [])
})

test('a wait past its limit rejects with the block; a bad waitMs names it', async () => {
  const vr = fresh()
  await vr.applyPolicy(ONE_AT_A_TIME)
  await vr.trackDeployment(dep({ version: '1.0', environmentName: 'production' }))
  const begun = Date.now()
  await rejectsWith(
    vr.trackDeployment(dep({ version: '1.1', environmentName: 'production' }), { waitMs: 1000 }),
    'CONCURRENT_DEPLOYMENT',
  )
  assert.ok(Date.now() - begun >= 1000)
  assert.deepEqual(await vr.queue(), [])
  for (const bad of [{ waitMs: 7_200_000 }, { waitMs: -1 }, { wait: 5 }]) {
    const e = await rejectsWith(
      vr.trackDeployment(dep({ version: '1.1', environmentName: 'production' }), bad),
      'INVALID_INPUT',
    )
    assert.match(e.message, /wait/)
  }
  const history = await vr.history()
  assert.deepEqual(history.map((d) => d.version), ['1.0'])
})
