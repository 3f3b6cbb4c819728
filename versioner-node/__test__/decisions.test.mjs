// Decision records, replay, the audit chain and the event stream (issue 13, items 7 and 8):
// each reaches Node whole and camelCase, and bad input rejects with INVALID_INPUT naming the
// option.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

import { HOUR, dep, fresh, rejectsWith, tempDir } from './helpers.mjs'

const STAGING_FIRST = { name: 'Staging first', type: 'flow', environments: ['production'], prerequisites: ['staging'] }
/** A rule that would have refused the staging deployment recorded by `seed`. */
const DEV_FIRST = { name: 'Dev first', type: 'flow', environments: ['staging'], prerequisites: ['dev'] }

const longAgo = () => new Date(Date.now() - HOUR)

/** One refused production start, then a passing staging deployment. */
async function seed(vr) {
  await vr.applyPolicy({ rules: [STAGING_FIRST] })
  await rejectsWith(vr.trackDeployment(dep({ environmentName: 'production', deployedBy: 'dana' })), 'FLOW_VIOLATION')
  await vr.trackDeployment(dep({ deployedBy: 'dana' }))
  await vr.trackDeployment(dep({ status: 'completed', deployedBy: 'dana' }))
}

test('a refused deployment is a violation, with its verdict and facts', async () => {
  const vr = fresh()
  await seed(vr)
  const list = await vr.violations()
  assert.equal(list.length, 1)
  const [d] = list
  assert.equal(d.productName, 'api')
  assert.equal(d.environmentName, 'production')
  assert.equal(d.outcome, 'blocked')
  assert.equal(d.status, 'started')
  assert.equal(d.actor, 'dana')
  assert.equal(d.deploymentId, undefined)
  assert.ok(d.recordedAt instanceof Date)
  assert.match(d.policyHash, /^[0-9a-f]{64}$/)
  assert.equal(d.verdict.decision, 'blocked')
  assert.equal(d.verdict.code, 'FLOW_VIOLATION')
  assert.equal(d.verdict.primaryRule, 'Staging first')
  assert.deepEqual(
    d.verdict.outcomes.filter((o) => o.status === 'failed').map((o) => o.ruleName),
    ['Staging first'],
  )
  assert.equal(d.facts.environment, 'production')
  assert.equal(d.facts.environmentType, 'production')
  assert.equal(d.facts.deployedBy, 'dana')
  assert.equal(d.facts.stints.staging.firstSuccessAt, undefined)
  assert.equal(d.request.environment_name, 'production', 'the request keeps its wire form')
})

test('violations filters', async () => {
  const vr = fresh()
  await seed(vr)
  await vr.applyPolicy({ rules: [{ ...STAGING_FIRST, status: 'report_only' }] })
  await vr.trackDeployment(dep({ version: '1.0.1', environmentName: 'production' }))
  await vr.trackDeployment(
    dep({ productName: 'web', version: '2', environmentName: 'production', skipPreflightChecks: true, skipPreflightReason: 'INC-7' }),
  )
  const all = await vr.violations({})
  assert.deepEqual(all.map((d) => d.outcome), ['bypassed', 'reported', 'blocked'], 'newest first')
  assert.deepEqual((await vr.violations({ outcome: 'reported' })).map((d) => d.version), ['1.0.1'])
  const [bypassed] = await vr.violations({ outcome: 'bypassed' })
  assert.equal(bypassed.productName, 'web')
  assert.equal((await vr.deployment(bypassed.deploymentId)).productName, 'web')
  assert.equal((await vr.violations({ productName: 'api' })).length, 2)
  assert.equal((await vr.violations({ productName: 'API' })).length, 2, 'names compare as the core compares them')
  assert.deepEqual(await vr.violations({ environmentName: 'staging' }), [])
  assert.equal((await vr.violations({ rule: 'Staging first' })).length, 3)
  assert.deepEqual(await vr.violations({ rule: 'No such rule' }), [])
  assert.equal((await vr.violations({ limit: 1 })).length, 1)
  assert.deepEqual(await vr.violations({ since: new Date(Date.now() + 60_000) }), [])
  assert.equal((await vr.violations({ since: longAgo(), until: '2999-01-01T00:00:00Z', limit: undefined })).length, 3)
})

test('bad violations options reject with INVALID_INPUT naming the option', async () => {
  const vr = fresh()
  for (const [options, field] of [
    [{ colour: 'red' }, 'colour'],
    [{ product: 'api' }, 'product'],
    [{ outcome: 'exploded' }, 'outcome'],
    [{ since: 'yesterday' }, 'since'],
    [{ until: new Date(NaN) }, 'until'],
    [{ limit: 0 }, 'limit'],
    [{ limit: -1 }, 'limit'],
    [{ rule: ['a'] }, 'rule'],
  ]) {
    await rejectsWith(vr.violations(options), 'INVALID_INPUT', { field })
  }
  const order = await rejectsWith(vr.violations({ since: '2026-02-01T00:00:00Z', until: '2026-01-01T00:00:00Z' }), 'INVALID_INPUT')
  assert.equal(order.field, 'until')
  await rejectsWith(vr.violations('blocked'), 'INVALID_INPUT', { field: 'options' })
})

test('replay: unchanged gives nothing, a tighter policy lists the change', async (t) => {
  const vr = fresh()
  await seed(vr)
  assert.deepEqual(await vr.replay(longAgo()), [])
  assert.deepEqual(await vr.replay(longAgo(), { rules: [STAGING_FIRST] }), [])
  assert.deepEqual(await vr.replay(longAgo().toISOString(), [STAGING_FIRST]), [])
  const changes = await vr.replay(longAgo(), { rules: [STAGING_FIRST, DEV_FIRST] })
  assert.equal(changes.length, 1, 'exactly the staging start; the refusal stays refused')
  const [c] = changes
  assert.equal(c.environmentName, 'staging')
  assert.equal(c.was, 'allowed')
  assert.equal(c.now, 'blocked')
  assert.deepEqual(c.failedThen, [])
  assert.deepEqual(c.failedNow, ['Dev first'])
  assert.ok(c.recordedAt instanceof Date && typeof c.decisionId === 'string')
  // The same candidate as text and as a file.
  const toml = [STAGING_FIRST, DEV_FIRST]
    .map((r) => `[[rules]]\nname = "${r.name}"\ntype = "flow"\nenvironments = ["${r.environments[0]}"]\nprerequisites = ["${r.prerequisites[0]}"]\n`)
    .join('')
  assert.deepEqual((await vr.replay(longAgo(), toml)).map((x) => x.decisionId), [c.decisionId])
  const file = join(tempDir(t), 'candidate.toml')
  writeFileSync(file, toml)
  assert.deepEqual((await vr.replay(longAgo(), file)).map((x) => x.decisionId), [c.decisionId])
  assert.deepEqual((await vr.rules()).map((r) => r.name), ['Staging first'], 'replay writes nothing')
  // Loosened: the refusal would now pass.
  const [loosened] = await vr.replay(longAgo(), { rules: [] })
  assert.deepEqual([loosened.environmentName, loosened.was, loosened.now], ['production', 'blocked', 'allowed'])
  assert.deepEqual(loosened.failedThen, ['Staging first'])
  assert.deepEqual(await vr.replay(new Date(Date.now() + 60_000), { rules: [] }), [])
})

test('replay: bad input rejects naming the argument', async () => {
  const vr = fresh()
  await rejectsWith(vr.replay('last tuesday'), 'INVALID_INPUT', { field: 'since' })
  await rejectsWith(vr.replay(), 'INVALID_INPUT', { field: 'since' })
  await rejectsWith(vr.replay(42), 'INVALID_INPUT', { field: 'since' })
  const invalid = await rejectsWith(vr.replay(longAgo(), { rules: [{ name: 'X', type: 'teleport' }] }), 'INVALID_INPUT')
  assert.match(invalid.message, /teleport/)
  await rejectsWith(vr.replay(longAgo(), { rules: [{ name: 'X', type: 'flow', soakTime: '1h' }] }), 'INVALID_INPUT', {
    field: 'rules[0].soakTime',
  })
  await rejectsWith(vr.replay(longAgo(), 42), 'INVALID_INPUT', { field: 'policy' })
})

test('the audit chain holds', async () => {
  const vr = fresh()
  const empty = await vr.auditVerify()
  assert.deepEqual([empty.entries, empty.unchained, empty.firstMismatch, empty.head], [0, 0, undefined, undefined])
  await seed(vr)
  const report = await vr.auditVerify()
  assert.equal(report.firstMismatch, undefined)
  assert.equal(report.reason, undefined)
  assert.equal(report.entries, await vr.lastEventSeq())
  const [newest] = await vr.eventsSince(report.entries - 1, 1)
  assert.equal(report.head, newest.hash)
})

test('events stream in order from a cursor; acknowledge moves it, never back', async () => {
  const vr = fresh()
  assert.equal(await vr.lastEventSeq(), 0)
  assert.deepEqual(await vr.eventsSince(), [])
  await seed(vr)
  const last = await vr.lastEventSeq()
  const events = await vr.eventsSince(0, 1000)
  assert.deepEqual(events.map((e) => e.seq), Array.from({ length: last }, (_, i) => i + 1))
  assert.ok(events.every((e) => e.occurredAt instanceof Date && typeof e.hash === 'string'))
  const types = events.map((e) => e.eventType)
  assert.ok(types.indexOf('deployment.preflight_failed') < types.indexOf('deployment.started'))
  const refused = events[types.indexOf('deployment.preflight_failed')]
  assert.equal(refused.actor, 'dana')
  assert.equal(refused.payload.event.environment_name, 'production', 'payloads keep their wire form')
  assert.deepEqual(await vr.eventsSince(2, 2), events.slice(2, 4))

  assert.equal(await vr.cursor('webhook'), 0)
  const first = await vr.eventsSince(await vr.cursor('webhook'), 1)
  assert.deepEqual(first.map((e) => e.seq), [1])
  await vr.acknowledge('webhook', first.at(-1).seq)
  assert.equal(await vr.cursor('webhook'), 1)
  assert.deepEqual((await vr.eventsSince(await vr.cursor('webhook'), 1)).map((e) => e.seq), [2])
  await vr.acknowledge('webhook', last)
  await vr.acknowledge('webhook', 1)
  assert.equal(await vr.cursor('webhook'), last)
  assert.deepEqual(await vr.eventsSince(last), [])
  assert.equal(await vr.cursor('metrics'), 0, 'each consumer has its own cursor')
  // Another handle on the same database shares the stream.
  const dana = vr.actingAs('dana')
  assert.equal(await dana.cursor('webhook'), last)
  assert.equal((await dana.auditVerify()).firstMismatch, undefined)

  await rejectsWith(vr.acknowledge('webhook', last + 1), 'INVALID_INPUT', { field: 'seq' })
  await rejectsWith(vr.acknowledge('webhook'), 'INVALID_INPUT', { field: 'seq' })
  await rejectsWith(vr.acknowledge('webhook', 1.5), 'INVALID_INPUT', { field: 'seq' })
  await rejectsWith(vr.acknowledge(' ', 1), 'INVALID_INPUT', { field: 'consumer' })
  await rejectsWith(vr.cursor(), 'INVALID_INPUT', { field: 'consumer' })
  await rejectsWith(vr.eventsSince(-1), 'INVALID_INPUT', { field: 'after' })
  await rejectsWith(vr.eventsSince('0'), 'INVALID_INPUT', { field: 'after' })
  for (const limit of [0, -5]) {
    await rejectsWith(vr.eventsSince(0, limit), 'INVALID_INPUT', { field: 'limit' })
  }
})

test('a closed Versioner rejects the new methods too', async () => {
  const vr = fresh()
  vr.close()
  for (const call of [
    () => vr.violations(),
    () => vr.replay(longAgo()),
    () => vr.auditVerify(),
    () => vr.eventsSince(),
    () => vr.lastEventSeq(),
    () => vr.cursor('x'),
    () => vr.acknowledge('x', 0),
  ]) {
    await rejectsWith(call(), 'INVALID_INPUT', { field: 'this' })
  }
})

test('history filters the emergency bypasses', async () => {
  const vr = fresh()
  await vr.trackDeployment(dep({ environmentName: 'staging' }))
  await vr.trackDeployment(
    dep({ environmentName: 'production', skipPreflightChecks: true, skipPreflightReason: 'INC-9' }),
  )
  const skipped = await vr.history({ preflight: 'skipped' })
  assert.deepEqual(skipped.map((d) => d.environmentName), ['production'])
  assert.equal(skipped[0].preflight.bypassReason, 'INC-9')
  assert.deepEqual((await vr.history({ preflight: 'passed' })).map((d) => d.environmentName), ['staging'])
  await rejectsWith(vr.history({ preflight: 'maybe' }), 'INVALID_INPUT', { field: 'preflight' })
})
