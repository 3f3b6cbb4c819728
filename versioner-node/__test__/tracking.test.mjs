// Tracking and queries on the in-process Versioner: every record method and its shape.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'

import { HOUR, Versioner, dep, fresh, rejectsWith, tempDir } from './helpers.mjs'

const SHA = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678'

test('trackBuild creates product and version and returns the build', async () => {
  const vr = fresh()
  const started = new Date('2026-01-02T03:04:05.678Z')
  const b = await vr.trackBuild({
    productName: 'api',
    version: 42,
    status: 'BUILT',
    scmSha: SHA.toUpperCase(),
    scmBranch: 'main',
    scmRepository: 'acme/api',
    buildNumber: 7,
    buildUrl: 'https://ci/7',
    builtBy: 'dana',
    builtByEmail: 'dana@example.com',
    builtByName: 'Dana',
    sourceSystem: 'github',
    invokeId: 'run-1',
    startedAt: started,
    completedAt: '2026-01-02T03:10:00Z',
    errorMessage: undefined,
    extraMetadata: { ticket: 'CHG-1', nested: { keepSnake_case: true } },
  })
  assert.equal(b.productName, 'api')
  assert.equal(b.version, '42', 'numbers are accepted as strings')
  assert.equal(b.status, 'completed', 'aliases normalize')
  assert.equal(b.scmSha, SHA, 'SHAs are lower-cased')
  assert.equal(b.buildNumber, '7')
  assert.equal(b.builtByName, 'Dana')
  assert.ok(b.startedAt instanceof Date)
  assert.equal(b.startedAt.toISOString(), started.toISOString())
  assert.equal(b.completedAt.toISOString(), '2026-01-02T03:10:00.000Z')
  assert.ok(b.createdAt instanceof Date && b.updatedAt instanceof Date)
  assert.deepEqual(b.extraMetadata, { ticket: 'CHG-1', nested: { keepSnake_case: true } })
  assert.match(b.id, /^[0-9a-f-]{36}$/)

  const again = await vr.trackBuild({ productName: 'api', version: '42', status: 'completed', invokeId: 'run-1' })
  assert.equal(again.id, b.id, 'same invoke id and status is idempotent')

  const [p] = await vr.products()
  assert.equal(p.name, 'api')
  assert.ok(p.createdAt instanceof Date)
  const v = await vr.version('api', '42')
  assert.equal(v.scmSha, SHA)
  assert.equal(v.builtBy, 'dana')
  assert.equal(v.productId, p.id)
  assert.equal((await vr.versionById(v.id)).version, '42')
  assert.deepEqual((await vr.versionsBySha('a1b2c3')).map((x) => x.id), [v.id], 'abbreviated SHAs match by prefix')
  assert.deepEqual(await vr.versionsBySha('ffff'), [])
})

test('trackDeployment lifecycle: started then completed closes the same deployment', async () => {
  const vr = fresh()
  const d = await vr.trackDeployment(dep({ deployedBy: 'dana', deployUrl: 'https://ci/run', invokeId: 'r1' }))
  assert.equal(d.status, 'started')
  assert.equal(d.environmentName, 'staging')
  assert.equal(d.deployedBy, 'dana')
  assert.ok(d.startedAt instanceof Date)
  assert.equal(d.completedAt, undefined)
  assert.equal(d.preflight.status, 'passed', 'a started deployment records its preflight')
  assert.equal(d.preflight.verdict.decision, 'allowed')
  assert.deepEqual(d.preflight.verdict.outcomes, [])

  const done = await vr.trackDeployment(dep({ status: 'success', invokeId: 'r1' }))
  assert.equal(done.id, d.id, 'a terminal event closes the open deployment')
  assert.equal(done.status, 'completed')
  assert.ok(done.completedAt instanceof Date)

  const replay = await vr.trackDeployment(dep({ status: 'success', invokeId: 'r1' }))
  assert.equal(replay.id, d.id, 'replaying is idempotent')

  const got = await vr.deployment(d.id)
  assert.equal(got.id, d.id)
  assert.equal(got.status, 'completed')
})

test('every status alias is accepted, case-insensitively', async () => {
  const vr = fresh()
  const expected = {
    pending: 'pending', queued: 'pending', scheduled: 'pending',
    IN_PROGRESS: 'started', deploying: 'started',
    success: 'completed', Deployed: 'completed', finished: 'completed',
    failure: 'failed', error: 'failed',
    cancelled: 'aborted', canceled: 'aborted', skipped: 'aborted',
  }
  let n = 0
  for (const [alias, status] of Object.entries(expected)) {
    const d = await vr.trackDeployment(dep({ version: `v${n++}`, status: alias }))
    assert.equal(d.status, status, alias)
  }
})

test('history filters, newest first', async () => {
  const vr = fresh()
  await vr.trackDeployment(dep({ version: '1', status: 'completed' }))
  await vr.trackDeployment(dep({ version: '2', status: 'failed' }))
  await vr.trackDeployment(dep({ version: '2', environmentName: 'production', status: 'completed' }))
  await vr.trackDeployment(dep({ productName: 'web', version: '9', status: 'completed' }))

  const all = await vr.history()
  assert.equal(all.length, 4)
  assert.deepEqual((await vr.history({ productName: 'api' })).map((d) => d.version), ['2', '2', '1'])
  assert.deepEqual((await vr.history({ environmentName: 'production' })).map((d) => d.productName), ['api'])
  assert.deepEqual((await vr.history({ productName: 'api', version: 2 })).length, 2)
  assert.deepEqual((await vr.history({ status: 'FAILURE' })).map((d) => d.version), ['2'])
  assert.equal((await vr.history({ limit: 1 })).length, 1)
  assert.deepEqual(await vr.history({ productName: 'nope' }), [])
  assert.equal((await vr.history({ since: new Date(Date.now() + HOUR) })).length, 0)
  assert.equal((await vr.history({ until: new Date(Date.now() + HOUR).toISOString() })).length, 4)
})

test('versions with paging, newest first', async () => {
  const vr = fresh()
  for (const v of ['1', '2', '3']) await vr.trackBuild({ productName: 'api', version: v, status: 'completed' })
  assert.deepEqual((await vr.versions('api')).map((v) => v.version), ['3', '2', '1'])
  assert.deepEqual((await vr.versions('api', { limit: 1, offset: 1 })).map((v) => v.version), ['2'])
  await rejectsWith(vr.versions('nope'), 'NOT_FOUND')
  await rejectsWith(vr.versions('api', { limit: 0 }), 'INVALID_INPUT', { field: 'limit' })
})

test('state: what is deployed where, now and as of an instant; drift', async () => {
  const vr = fresh()
  await vr.trackDeployment(dep({ version: '1', environmentName: 'production', status: 'completed', deployedBy: 'ops' }))
  const before = new Date()
  await new Promise((r) => setTimeout(r, 5))
  await vr.trackDeployment(dep({ version: '2', environmentName: 'staging', status: 'completed' }))
  await vr.trackDeployment(dep({ version: '3', environmentName: 'staging', status: 'started' }))

  const s = await vr.state()
  assert.deepEqual(s.products, ['api'])
  assert.deepEqual(s.environments, ['staging', 'production'], 'ordered from development to production')
  const staging = s.cells.find((c) => c.environmentName === 'staging')
  assert.equal(staging.environmentType, 'staging')
  assert.equal(staging.current.version, '2')
  assert.ok(staging.current.deployedAt instanceof Date)
  assert.deepEqual(staging.inProgress.map((d) => d.version), ['3'])
  const prod = s.cells.find((c) => c.environmentName === 'production')
  assert.equal(prod.current.deployedBy, 'ops')
  assert.equal(s.at, undefined)

  const past = await vr.state({ at: before })
  assert.equal(past.at.toISOString(), before.toISOString())
  assert.deepEqual(past.environments, ['production'], 'staging had nothing yet')

  const drift = await vr.drift()
  assert.equal(drift.length, 1)
  assert.equal(drift[0].productName, 'api')
  assert.equal(drift[0].distinctVersions, 2)
  assert.deepEqual(drift[0].versions, { staging: '2', production: '1' })
  assert.deepEqual(await vr.drift({ environments: ['production'] }), [])
  assert.deepEqual(await vr.drift({ at: before }), [])
})

test('environments: inferred types and overrides', async () => {
  const vr = fresh()
  await vr.trackDeployment(dep({ environmentName: 'prod-eu', status: 'completed' }))
  await vr.trackDeployment(dep({ environmentName: 'preprod', status: 'completed' }))
  const envs = await vr.environments()
  assert.deepEqual(envs.map((e) => [e.name, e.type, e.typeOverridden]), [
    ['preprod', 'staging', false],
    ['prod-eu', 'production', false],
  ])
  const e = await vr.setEnvironmentType('prod-eu', 'other')
  assert.equal(e.type, 'other')
  assert.equal(e.typeOverridden, true)
  const back = await vr.setEnvironmentType('prod-eu', null)
  assert.deepEqual([back.type, back.typeOverridden], ['production', false])
  const created = await vr.setEnvironmentType('sandbox-7', 'test')
  assert.equal(created.type, 'test')
  await rejectsWith(vr.setEnvironmentType('x', 'prodish'), 'INVALID_INPUT', { field: 'type' })
})

test('a database file persists across instances', async (t) => {
  const path = join(tempDir(t), 'versioner.db')
  const a = new Versioner(path)
  await a.trackDeployment(dep({ status: 'completed' }))
  const b = new Versioner(path)
  assert.equal((await b.history()).length, 1)
  assert.equal((await new Versioner(':memory:').history()).length, 0)
  assert.equal((await new Versioner(null).history()).length, 0)
})
