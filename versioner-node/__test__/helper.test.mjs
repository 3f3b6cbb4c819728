// vr.deploying(options, callback): started, the callback, then completed or failed.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { fresh, rejectsWith } from './helpers.mjs'

const opts = { productName: 'api', version: '1.0.0', environmentName: 'staging', deployedBy: 'dana', invokeId: 'run-7' }

async function statuses(vr) {
  return (await vr.history()).map((d) => d.status)
}

test('success: started, the callback, completed; resolves to the callback value', async () => {
  const vr = fresh()
  let seen
  const result = await vr.deploying(opts, async (d) => {
    seen = d
    assert.equal(d.status, 'started')
    assert.deepEqual(await statuses(vr), ['started'], 'started is recorded before the callback runs')
    await new Promise((r) => setTimeout(r, 5))
    return { ok: 42 }
  })
  assert.deepEqual(result, { ok: 42 })
  assert.equal(seen.deployedBy, 'dana')
  assert.ok(seen.startedAt instanceof Date)
  const [d] = await vr.history()
  assert.equal(d.id, seen.id, 'completed closes the started deployment')
  assert.equal(d.status, 'completed')
  assert.equal(d.invokeId, 'run-7')
})

test('a synchronous callback and an undefined result work too', async () => {
  const vr = fresh()
  assert.equal(await vr.deploying(opts, (d) => d.version), '1.0.0')
  assert.equal(await vr.deploying({ ...opts, version: '2' }, () => {}), undefined)
  assert.deepEqual(await statuses(vr), ['completed', 'completed'])
})

test('failure: the callback rejects, failed is recorded, the same error is rethrown', async () => {
  const vr = fresh()
  const boom = new Error('kubectl exploded')
  boom.extra = 'kept'
  await assert.rejects(
    vr.deploying(opts, async () => {
      throw boom
    }),
    (e) => e === boom,
  )
  assert.deepEqual(await statuses(vr), ['failed'])
})

test('failure: a synchronous throw, and a thrown non-Error, are rethrown as they are', async () => {
  const vr = fresh()
  const err = new TypeError('sync')
  await assert.rejects(
    vr.deploying(opts, () => {
      throw err
    }),
    (e) => e === err,
  )
  await assert.rejects(
    vr.deploying({ ...opts, version: '2' }, async () => {
      throw 'a string' // eslint-disable-line no-throw-literal
    }),
    (e) => e === 'a string',
  )
  await assert.rejects(
    vr.deploying({ ...opts, version: '3' }, () => Promise.reject(undefined)),
    (e) => e === undefined,
  )
  assert.deepEqual(await statuses(vr), ['failed', 'failed', 'failed'])
})

test('block: the preflight refuses, the callback never runs, nothing is recorded', async () => {
  const vr = fresh()
  await vr.addRule({ name: 'Staging first', type: 'flow', environments: ['production'], prerequisites: ['staging'] })
  let called = false
  const err = await rejectsWith(
    vr.deploying({ ...opts, environmentName: 'production' }, async () => {
      called = true
    }),
    'FLOW_VIOLATION',
  )
  assert.equal(called, false)
  assert.equal(err.httpStatus, 428)
  assert.equal(err.ruleName, 'Staging first')
  assert.equal(err.violations.length, 1)
  assert.equal(err.verdict.decision, 'blocked')
  assert.equal(err.retryAfter, null)
  assert.deepEqual(await statuses(vr), [])
})

test('bad options reject before anything is sent', async () => {
  const vr = fresh()
  let called = false
  const cb = () => {
    called = true
  }
  await rejectsWith(vr.deploying({ ...opts, status: 'started' }, cb), 'INVALID_INPUT', { field: 'status' })
  await rejectsWith(vr.deploying({ ...opts, productName: '' }, cb), 'INVALID_INPUT', { field: 'productName' })
  await rejectsWith(vr.deploying(opts), 'INVALID_INPUT', { field: 'callback' })
  await rejectsWith(vr.deploying(opts, 'cb'), 'INVALID_INPUT', { field: 'callback' })
  assert.equal(called, false)
  assert.deepEqual(await statuses(vr), [])
})

test('many helpers at once each record their own lifecycle', async () => {
  const vr = fresh()
  const runs = Array.from({ length: 12 }, (_, i) =>
    vr.deploying({ ...opts, version: `v${i}`, invokeId: `run-${i}` }, async (d) => {
      await new Promise((r) => setTimeout(r, (i * 7) % 11))
      if (i % 3 === 0) throw new Error(`fail ${i}`)
      return d.version
    }),
  )
  const results = await Promise.allSettled(runs)
  results.forEach((r, i) => {
    if (i % 3 === 0) assert.equal(r.reason.message, `fail ${i}`)
    else assert.equal(r.value, `v${i}`)
  })
  const history = await vr.history({ limit: 100 })
  assert.equal(history.length, 12)
  for (const d of history) {
    const i = Number(d.version.slice(1))
    assert.equal(d.status, i % 3 === 0 ? 'failed' : 'completed', d.version)
  }
})
