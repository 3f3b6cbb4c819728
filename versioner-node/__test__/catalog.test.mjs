// The catalog and the option names (issue 18, items 10 and 12): products and environments
// found by name or id, described and renamed with their ids and history kept; `deploying` is
// the tracked-deployment helper; the older spellings still work with a DeprecationWarning.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { dep, fresh, rejectsWith } from './helpers.mjs'

test('a product is renamed and described; its id and history stay', async () => {
  const vr = fresh()
  await vr.trackDeployment(dep({ status: 'success' }))
  const before = await vr.product('api')
  assert.ok(before.description == null)
  assert.deepEqual(before.extraMetadata, {})
  const p = await vr.updateProduct('api', { name: 'api-service', description: 'The public API', extraMetadata: { team_name: 'core' } })
  assert.equal(p.id, before.id)
  assert.equal(p.name, 'api-service')
  assert.equal(p.description, 'The public API')
  assert.deepEqual(p.extraMetadata, { team_name: 'core' }, 'metadata keys are kept as given')
  assert.equal((await vr.product(before.id)).name, 'api-service')
  assert.equal((await vr.history({ productName: 'api-service' })).length, 1)
  await rejectsWith(vr.product('api'), 'NOT_FOUND')
  const e = await vr.updateEnvironment('staging', { name: 'stage', description: 'pre-prod' })
  assert.equal((await vr.environment('Stage')).id, e.id)
  assert.equal(e.type, 'staging')
})

test('bad changes reject naming the problem, and change nothing', async () => {
  const vr = fresh()
  await vr.trackDeployment(dep({ status: 'success' }))
  await vr.trackDeployment(dep({ productName: 'web', status: 'success' }))
  await rejectsWith(vr.updateProduct('api', { name: 'WEB' }), 'INVALID_INPUT', { field: 'name' })
  await rejectsWith(vr.updateProduct('api', {}), 'INVALID_INPUT')
  await rejectsWith(vr.updateProduct('api', { nmae: 'x' }), 'INVALID_INPUT')
  await rejectsWith(vr.updateProduct('nope', { description: 'x' }), 'NOT_FOUND')
  await vr.addRule({ name: 'Flow', type: 'flow', environments: ['production'], prerequisites: ['staging'] })
  const err = await rejectsWith(vr.updateEnvironment('staging', { name: 'stage' }), 'INVALID_INPUT', { field: 'name' })
  assert.match(err.message, /named by rule\(s\) `Flow`/)
  const viewer = vr.actingAs('vic', 'viewer')
  await rejectsWith(viewer.updateProduct('api', { description: 'x' }), 'FORBIDDEN')
  assert.ok((await vr.product('api')).description == null)
  assert.equal((await vr.product('api')).name, 'api')
})

/** Runs `f`, collecting the DeprecationWarnings Node emits meanwhile. */
async function warnings(f) {
  const seen = []
  const on = (w) => { if (w.name === 'DeprecationWarning') seen.push(w.message) }
  process.on('warning', on)
  try {
    await f()
    await new Promise((r) => setImmediate(r))
  } finally {
    process.off('warning', on)
  }
  return seen
}

test('deploying is the helper; deployment(options, callback) still works, deprecated', async () => {
  const vr = fresh()
  const opts = { productName: 'api', version: '1.0.0', environmentName: 'staging' }
  assert.deepEqual(await warnings(async () => {
    assert.equal(await vr.deploying(opts, (d) => d.status), 'started')
  }), [])
  const seen = await warnings(async () => {
    assert.equal(await vr.deployment({ ...opts, version: '2' }, (d) => d.version), '2')
  })
  assert.equal(seen.length, 1)
  assert.match(seen[0], /use deploying\(options, callback\)/)
  const [d] = await vr.history({ productName: 'api', limit: 1 })
  assert.equal((await vr.deployment(d.id)).status, 'completed', 'deployment(id) is the lookup, unwarned')
})

test('approve takes environmentName; environment still works, deprecated', async () => {
  const vr = fresh()
  await vr.trackBuild({ productName: 'api', version: '1', status: 'success' })
  const base = { productName: 'api', version: '1', approvalType: 'qa', approver: 'quinn', approverRole: 'qa' }
  assert.deepEqual(await warnings(async () => {
    assert.equal((await vr.approve({ ...base, environmentName: 'staging' })).environment, 'staging')
  }), [])
  const seen = await warnings(async () => {
    assert.equal((await vr.approve({ ...base, approver: 'qa2', environment: 'staging' })).environment, 'staging')
  })
  assert.equal(seen.length, 1)
  assert.match(seen[0], /approve\(\{ environmentName \}\)/)
  await rejectsWith(vr.approve({ ...base, approver: 'qa3', environment: 'a', environmentName: 'a' }), 'INVALID_INPUT', { field: 'environment' })
})
