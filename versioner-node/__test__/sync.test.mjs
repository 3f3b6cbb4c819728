// The synchronous variants (`trackBuildSync`, `trackDeploymentSync`, `checkSync`): the same
// records and errors as the promise API, returned or thrown on the calling thread.
import assert from 'node:assert/strict'
import test from 'node:test'

import { dep, fresh, throwsWith } from './helpers.mjs'

test('the sync variants return the records the promises resolve to', async () => {
  const vr = fresh()
  const build = vr.trackBuildSync({ productName: 'api', version: '1.0.0', status: 'completed' })
  assert.ok(!(build instanceof Promise))
  assert.equal(build.version, '1.0.0')
  const started = vr.trackDeploymentSync(dep({ environmentName: 'staging' }))
  assert.equal(started.status, 'started')
  const done = vr.trackDeploymentSync(dep({ environmentName: 'staging', status: 'completed' }))
  assert.equal(done.id, started.id)
  assert.deepEqual(done, (await vr.history({ productName: 'api' }))[0])
  const wanted = { productName: 'api', version: '1.0.0', environmentName: 'production' }
  const verdict = vr.checkSync(wanted)
  assert.ok(!(verdict instanceof Promise))
  assert.equal(verdict.decision, 'allowed')
  const { evaluatedAt: _a, ...sync } = verdict
  const { evaluatedAt: _b, ...promised } = await vr.check(wanted)
  assert.deepEqual(sync, promised)
})

test('a refusal throws with its code and verdict and writes nothing', async () => {
  const vr = fresh()
  await vr.addRule({ name: 'One at a time', type: 'concurrency', max: 1 })
  vr.trackDeploymentSync(dep({ version: '1', environmentName: 'production' }))
  const blocked = vr.checkSync({ productName: 'api', version: '2', environmentName: 'production' })
  assert.equal(blocked.decision, 'blocked')
  assert.equal(blocked.code, 'CONCURRENT_DEPLOYMENT')
  const err = throwsWith(
    () => vr.trackDeploymentSync(dep({ version: '2', environmentName: 'production' })),
    'CONCURRENT_DEPLOYMENT',
    { httpStatus: 409, ruleName: 'One at a time' },
  )
  assert.equal(err.verdict.decision, 'blocked')
  assert.deepEqual((await vr.history({ productName: 'api' })).map((d) => d.version), ['1'])
})

test('bad arguments throw INVALID_INPUT naming the option, and write nothing', async () => {
  const vr = fresh()
  throwsWith(() => vr.trackBuildSync({ productName: 'api' }), 'INVALID_INPUT', { field: 'version' })
  throwsWith(() => vr.trackDeploymentSync(dep({ status: 'exploded' })), 'INVALID_INPUT', { field: 'status' })
  throwsWith(() => vr.trackDeploymentSync(dep(), { waitMs: -1 }), 'INVALID_INPUT', { field: 'waitMs' })
  throwsWith(() => vr.checkSync(42), 'INVALID_INPUT', { field: 'options' })
  assert.deepEqual(await vr.products(), [])
})

test('a sync call runs on the calling thread: nothing else runs meanwhile', () => {
  const vr = fresh()
  let ticked = false
  setImmediate(() => {
    ticked = true
  })
  for (let i = 0; i < 50; i++) {
    vr.trackDeploymentSync(dep({ version: String(i), status: 'completed' }))
    vr.checkSync({ productName: 'api', version: String(i), environmentName: 'production' })
  }
  assert.equal(ticked, false)
})
