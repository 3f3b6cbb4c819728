// The four keys (DORA metrics) through the addon: the core's answer as a typed record.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { fresh, rejectsWith } from './helpers.mjs'

const SINCE = '2026-11-02T00:00:00Z'
const UNTIL = new Date('2026-11-09T00:00:00Z')

async function deploy(vr, version, status, completedAt) {
  await vr.trackDeployment({
    productName: 'api',
    version,
    environmentName: 'production',
    status,
    completedAt,
  })
}

test('dora answers the figures, their bands and the definitions', async () => {
  const vr = fresh()
  await deploy(vr, '1', 'completed', '2026-11-02T10:00:00Z')
  await deploy(vr, '2', 'failed', '2026-11-03T10:00:00Z')
  await deploy(vr, '3', 'completed', '2026-11-03T11:00:00Z')
  const r = await vr.dora({ since: SINCE, until: UNTIL, product: 'api' })
  // 2 successes in 7 days; 1 failed of 3 finished; restored 1 hour later.
  assert.equal(r.deploymentFrequency.count, 2)
  assert.equal(r.deploymentFrequency.perDay, 2 / 7)
  assert.equal(r.changeFailureRate, 1 / 3)
  assert.equal(r.timeToRestore.medianSeconds, 3600)
  assert.equal(r.bands.timeToRestore, 'elite')
  assert.deepEqual(r.environments, ['production'])
  assert.ok(r.since instanceof Date)
  assert.equal(r.definitions.rollbacks, 'not_a_failure')
  const weekly = await vr.dora({ since: SINCE, until: UNTIL, by: 'week' })
  assert.equal(weekly.series.length, 1)
  assert.equal(weekly.series[0].deploymentFrequency.count, 2)
})

test('dora rejects a bad query naming it', async () => {
  const vr = fresh()
  await rejectsWith(vr.dora({ since: UNTIL, until: SINCE }), 'INVALID_INPUT', { field: 'until' })
  await rejectsWith(vr.dora({ since: SINCE }), 'INVALID_INPUT', { field: 'until' })
  await rejectsWith(vr.dora({ since: SINCE, until: UNTIL, frequency: 'hourly' }), 'INVALID_INPUT')
  await rejectsWith(vr.dora({ since: SINCE, until: UNTIL, colour: 'red' }), 'INVALID_INPUT')
  await rejectsWith(
    vr.dora({ since: SINCE, until: UNTIL, environments: ['mars'] }),
    'NOT_FOUND',
  )
})

test('skew and stale answer typed records and name their mistakes', async () => {
  const vr = fresh()
  for (const [version, environmentName, completedAt] of [
    ['1.0', 'staging', '2026-11-01T10:00:00Z'],
    ['1.0', 'production', '2026-11-01T11:00:00Z'],
    ['1.1', 'staging', '2026-11-03T10:00:00Z'],
    ['1.2', 'staging', '2026-11-05T10:00:00Z'],
  ]) {
    await vr.trackDeployment({ productName: 'api', version, environmentName, status: 'completed', completedAt })
  }
  const [s] = await vr.skew({ ahead: 'staging', behind: 'production' })
  assert.equal(s.productName, 'api')
  assert.equal(s.versionsBehind, 2)
  assert.deepEqual(s.versions, ['1.1', '1.2'])
  assert.equal(s.behindVersion, '1.0')
  assert.ok(s.behindSince instanceof Date)
  assert.equal(s.behindSince.toISOString(), '2026-11-03T10:00:00.000Z')
  const [stale] = await vr.stale({ environment: 'staging', olderThan: '1d' })
  assert.equal(stale.version, '1.2')
  assert.deepEqual(stale.notPromotedTo, ['production'])
  await rejectsWith(vr.skew({ ahead: 'staging' }), 'INVALID_INPUT')
  await rejectsWith(vr.skew({ ahead: 'staging', behind: 'nowhere' }), 'NOT_FOUND')
  await rejectsWith(vr.stale({ environment: 'staging', olderThan: 'soon' }), 'INVALID_INPUT')
})
