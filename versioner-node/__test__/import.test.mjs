// History import and export through the addon: the core's JSON Lines, its report as a typed
// record, a failing line rejected with INVALID_INPUT naming it.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { fresh } from './helpers.mjs'

const HISTORY = [
  '{"kind":"build","product_name":"api","version":"1.0.0","status":"completed","completed_at":"2026-11-01T09:00:00Z"}',
  '{"kind":"deployment","product_name":"api","version":"1.0.0","environment_name":"production","status":"completed","started_at":"2026-11-01T10:00:00Z","completed_at":"2026-11-01T10:05:00Z"}',
].join('\n')

test('importEvents and exportEvents round-trip, and a second import skips every line', async () => {
  const vr = fresh()
  const dry = await vr.importEvents(HISTORY, { dryRun: true })
  assert.equal(dry.dryRun, true)
  assert.equal(dry.deployments, 1)
  assert.deepEqual(await vr.products(), [])

  const report = await vr.importEvents(HISTORY)
  assert.deepEqual(
    [report.builds, report.deployments, report.skipped, report.dryRun],
    [1, 1, 0, false],
  )
  const again = await vr.importEvents(HISTORY)
  assert.equal(again.skipped, 2)

  const text = await vr.exportEvents()
  assert.equal(text.trim().split('\n').length, 2)
  const copy = fresh()
  await copy.importEvents(text)
  assert.equal(await copy.exportEvents(), text)
})

test('a failing line is named', async () => {
  const vr = fresh()
  await assert.rejects(vr.importEvents(`${HISTORY}\n{"kind":"deployment"}`), (err) => {
    assert.equal(err.code, 'INVALID_INPUT')
    assert.equal(err.field, 'line 3')
    return true
  })
  assert.deepEqual(await vr.products(), [])
})
