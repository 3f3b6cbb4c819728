// Rules, policies, approvals and the preflight: every blocking code with its properties.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

import { HOUR, dep, fresh, rejectsWith, tempDir } from './helpers.mjs'

const flow = { name: 'Staging first', type: 'flow', environments: ['production'], prerequisites: ['staging'] }

/** Asserts the properties every policy rejection carries. */
function assertBlocked(err, { code, http, rule }) {
  assert.equal(err.code, code)
  assert.equal(err.httpStatus, http)
  assert.equal(err.ruleName, rule)
  assert.ok(Array.isArray(err.violations) && err.violations.length >= 1)
  assert.equal(err.violations[0].ruleName, rule)
  assert.equal(err.violations[0].code, code)
  assert.equal(err.violations[0].status, 'failed')
  assert.equal(err.verdict.decision, 'blocked')
  assert.equal(err.verdict.code, code)
  assert.equal(err.verdict.httpStatus, http)
  assert.ok(err.verdict.evaluatedAt instanceof Date)
  assert.ok('retryAfter' in err, 'retryAfter is always present on a rejection')
  assert.ok(err.retryAfter === null || err.retryAfter instanceof Date)
  assert.match(err.message, new RegExp(`\\[${code}\\] ${rule}`))
}

test('rules: add, read, update, status, history, delete', async () => {
  const vr = fresh()
  const added = await vr.addRule({ ...flow, description: 'no surprises', strictOrder: true, soak: '1h' })
  assert.equal(added.name, 'Staging first')
  assert.equal(added.type, 'flow')
  assert.equal(added.status, 'enabled')
  assert.equal(added.strictOrder, true)
  assert.equal(added.soak, '1h')
  assert.equal(added.position, 1)
  assert.ok(added.createdAt instanceof Date)
  assert.deepEqual(await vr.rule('Staging first'), added)

  const c = await vr.addRule({ name: 'One at a time', type: 'concurrency', max: 1, per: 'environment', staleAfter: '2h' })
  assert.deepEqual([c.max, c.per, c.staleAfter, c.position], [1, 'environment', '2h', 2])
  await rejectsWith(vr.addRule(flow), 'INVALID_INPUT', { field: 'name' })

  // A rule read back can be edited and passed to updateRule as it is.
  const r = await vr.rule('Staging first')
  const updated = await vr.updateRule('Staging first', { ...r, status: 'report_only', soak: '2h' })
  assert.equal(updated.status, 'report_only')
  assert.equal(updated.soak, '2h')

  const disabled = await vr.setRuleStatus('Staging first', { status: 'disabled', actor: 'dana', reason: 'incident' })
  assert.equal(disabled.status, 'disabled')
  const history = await vr.ruleHistory('Staging first')
  assert.deepEqual(history.map((h) => [h.fromStatus, h.toStatus, h.actor]), [
    ['enabled', 'report_only', 'api'],
    ['report_only', 'disabled', 'dana'],
  ])
  assert.equal(history[1].reason, 'incident')
  assert.ok(history[1].changedAt instanceof Date)
  assert.equal((await vr.ruleHistory()).length, 2)

  assert.deepEqual((await vr.rules()).map((x) => x.name), ['Staging first', 'One at a time'])
  await vr.deleteRule('One at a time')
  await rejectsWith(vr.rule('One at a time'), 'NOT_FOUND')
  await rejectsWith(vr.deleteRule('One at a time'), 'NOT_FOUND')
  await rejectsWith(vr.setRuleStatus('Staging first', { status: 'paused', actor: 'a', reason: 'b' }), 'INVALID_INPUT', { field: 'status' })
  await rejectsWith(vr.setRuleStatus('Staging first', { status: 'enabled', actor: ' ', reason: 'b' }), 'INVALID_INPUT', { field: 'actor' })
})

test('an invalid rule is refused with every problem', async () => {
  const vr = fresh()
  const err = await rejectsWith(vr.addRule({ name: 'Bad', type: 'flow', prerequisites: [], soak: 'soon' }), 'INVALID_INPUT')
  assert.ok(Array.isArray(err.problems) && err.problems.length >= 2)
  assert.deepEqual(new Set(err.problems.map((p) => p.field)), new Set(['prerequisites', 'soak']))
  assert.ok(err.problems.every((p) => p.rule === 'Bad' && p.reason.length > 0))
  await rejectsWith(vr.addRule({ name: 'X', type: 'teleport' }), 'INVALID_INPUT', { field: 'type' })
  await rejectsWith(vr.addRule({ name: 'X', type: 'flow', prerequisites: ['a'], strict_order: true }), 'INVALID_INPUT', { field: 'strictOrder' })
  await rejectsWith(vr.addRule({ name: 'X', type: 'concurrency', max: 'two' }), 'INVALID_INPUT', { field: 'max' })
  await rejectsWith(vr.addRule('flow'), 'INVALID_INPUT', { field: 'rule' })
  assert.deepEqual(await vr.rules(), [])
})

test('applyPolicy: data, TOML, JSON, a file; replace and merge; all or nothing', async (t) => {
  const vr = fresh()
  const r1 = await vr.applyPolicy({ rules: [flow, { name: 'Two approvers', type: 'release_approval', environments: ['production'], required: 2 }] }, { actor: 'ci' })
  assert.deepEqual(r1, { added: ['Staging first', 'Two approvers'], updated: [], unchanged: [], deleted: [] })

  const toml = `
[[rules]]
name = "Staging first"
type = "flow"
environments = ["production"]
prerequisites = ["staging"]
strict_order = true
`
  const r2 = await vr.applyPolicy(toml)
  assert.deepEqual(r2, { added: [], updated: ['Staging first'], unchanged: [], deleted: ['Two approvers'] })

  const json = JSON.stringify({ rules: [{ name: 'QA', type: 'version_approval', approval_types: ['qa'] }] })
  const r3 = await vr.applyPolicy(json, { format: 'json', mode: 'merge' })
  assert.deepEqual(r3, { added: ['QA'], updated: [], unchanged: [], deleted: [] })
  assert.deepEqual((await vr.rules()).map((r) => r.name), ['Staging first', 'QA'])

  const bad = await rejectsWith(vr.applyPolicy({ rules: [flow, { name: 'Broken', type: 'flow' }] }), 'INVALID_INPUT')
  assert.ok(bad.problems.some((p) => p.rule === 'Broken' && p.field === 'prerequisites'))
  await rejectsWith(vr.applyPolicy('[[rules]\nname=', {}), 'INVALID_INPUT', { field: 'policy' })
  await rejectsWith(vr.applyPolicy(toml, { mode: 'upsert' }), 'INVALID_INPUT', { field: 'mode' })
  await rejectsWith(vr.applyPolicy(toml, { format: 'yaml' }), 'INVALID_INPUT', { field: 'format' })
  await rejectsWith(vr.applyPolicy(42), 'INVALID_INPUT', { field: 'policy' })
  assert.deepEqual((await vr.rules()).map((r) => r.name), ['Staging first', 'QA'], 'a refused policy changes nothing')

  const file = join(tempDir(t), 'versioner.toml')
  writeFileSync(file, toml)
  const r4 = await vr.applyPolicyFile(file)
  assert.deepEqual(r4, { added: [], updated: [], unchanged: ['Staging first'], deleted: ['QA'] })
  await rejectsWith(vr.applyPolicyFile(join(tempDir(t), 'missing.toml')), 'INVALID_INPUT', { field: 'policy' })
})

test('FLOW_VIOLATION (428): the prerequisite environment comes first', async () => {
  const vr = fresh()
  await vr.addRule(flow)
  const err = await rejectsWith(vr.trackDeployment(dep({ environmentName: 'production' })), 'FLOW_VIOLATION')
  assertBlocked(err, { code: 'FLOW_VIOLATION', http: 428, rule: 'Staging first' })
  assert.equal(err.retryAfter, null, 'a person must act')
  assert.deepEqual(err.violations[0].details.missing_environments, ['staging'])
  assert.equal((await vr.history()).length, 0, 'nothing is recorded')

  await vr.trackDeployment(dep({ status: 'completed' }))
  const ok = await vr.trackDeployment(dep({ environmentName: 'production' }))
  assert.equal(ok.preflight.verdict.outcomes[0].status, 'passed')
})

test('INSUFFICIENT_SOAK_TIME (428) with retryAfter; check() at a later instant allows', async () => {
  const vr = fresh()
  await vr.addRule({ ...flow, soak: '24h' })
  await vr.trackDeployment(dep({ status: 'completed' }))
  const err = await rejectsWith(vr.trackDeployment(dep({ environmentName: 'production' })), 'INSUFFICIENT_SOAK_TIME')
  assertBlocked(err, { code: 'INSUFFICIENT_SOAK_TIME', http: 428, rule: 'Staging first' })
  assert.ok(err.retryAfter instanceof Date)
  const wait = err.retryAfter.getTime() - Date.now()
  assert.ok(wait > 23 * HOUR && wait <= 24 * HOUR, `retryAfter ≈ 24 h from now (${wait} ms)`)
  assert.equal(err.verdict.retryAfter.getTime(), err.retryAfter.getTime())

  const now = await vr.check({ productName: 'api', version: '1.0.0', environmentName: 'production' })
  assert.equal(now.decision, 'blocked')
  assert.equal(now.code, 'INSUFFICIENT_SOAK_TIME')
  const later = await vr.check({ productName: 'api', version: '1.0.0', environmentName: 'production', at: new Date(Date.now() + 25 * HOUR) })
  assert.equal(later.decision, 'allowed')
  assert.equal(later.outcomes[0].status, 'passed')
  assert.equal((await vr.history({ environmentName: 'production' })).length, 0, 'check records nothing')
})

test('CONCURRENT_DEPLOYMENT (409) names the conflicting deployment', async () => {
  const vr = fresh()
  await vr.addRule({ name: 'One at a time', type: 'concurrency', max: 1 })
  const first = await vr.trackDeployment(dep({ version: '1' }))
  const err = await rejectsWith(vr.trackDeployment(dep({ version: '2' })), 'CONCURRENT_DEPLOYMENT')
  assertBlocked(err, { code: 'CONCURRENT_DEPLOYMENT', http: 409, rule: 'One at a time' })
  assert.ok(JSON.stringify(err.violations[0].details).includes(first.id))
  await vr.trackDeployment(dep({ version: '1', status: 'completed' }))
  await vr.trackDeployment(dep({ version: '2' }))
})

test('NO_DEPLOY_WINDOW (423) with retryAfter at the window end', async () => {
  const vr = fresh()
  await vr.addRule({
    name: 'Freeze',
    type: 'schedule',
    mode: 'deny',
    timezone: 'UTC',
    reason: 'the long freeze',
    windows: [{ name: 'century', recurrence: 'once', start: '2000-01-01T00:00', end: '2100-01-01T00:00' }],
  })
  const [rule] = await vr.rules()
  assert.deepEqual(rule.windows, [{ name: 'century', recurrence: 'once', start: '2000-01-01T00:00', end: '2100-01-01T00:00' }])
  const err = await rejectsWith(vr.trackDeployment(dep()), 'NO_DEPLOY_WINDOW')
  assertBlocked(err, { code: 'NO_DEPLOY_WINDOW', http: 423, rule: 'Freeze' })
  assert.equal(err.retryAfter.toISOString(), '2100-01-01T00:00:00.000Z')
  await rejectsWith(
    vr.addRule({ name: 'W', type: 'schedule', timezone: 'UTC', windows: [{ recurrence: 'weekly', start: '09:00', end: '10:00', dayz: ['mon'] }] }),
    'INVALID_INPUT',
    { field: 'windows[0].dayz' },
  )
})

test('APPROVAL_REQUIRED (428) and QUALITY_APPROVAL_REQUIRED (428); approvals and revocation', async () => {
  const vr = fresh()
  await vr.applyPolicy({
    rules: [
      { name: 'QA sign-off', type: 'version_approval', approvalTypes: ['qa'] },
      { name: 'Two approvers', type: 'release_approval', environments: ['production'], required: 2, approverRoles: ['sre'] },
    ],
  })
  await vr.trackBuild({ productName: 'api', version: '1.0.0', status: 'completed', builtBy: 'bob' })

  const q = await rejectsWith(vr.trackDeployment(dep()), 'QUALITY_APPROVAL_REQUIRED')
  assertBlocked(q, { code: 'QUALITY_APPROVAL_REQUIRED', http: 428, rule: 'QA sign-off' })

  const qa = await vr.approve({ productName: 'api', version: '1.0.0', approvalType: 'QA', approver: 'quinn', comment: 'looks good' })
  assert.equal(qa.approvalType, 'qa')
  assert.ok(qa.grantedAt instanceof Date)
  await vr.trackDeployment(dep({ status: 'completed' }))

  const a = await rejectsWith(vr.trackDeployment(dep({ environmentName: 'production', deployedBy: 'dana' })), 'APPROVAL_REQUIRED')
  assertBlocked(a, { code: 'APPROVAL_REQUIRED', http: 428, rule: 'Two approvers' })
  assert.equal(a.violations.length, 1, 'only the failing rule is a violation')
  assert.equal(a.verdict.outcomes.length, 2, 'the verdict lists every rule')

  const r1 = await vr.approve({ productName: 'api', version: '1.0.0', approvalType: 'release', approver: 'ann', approverRole: 'SRE', environmentName: 'production' })
  await vr.approve({ productName: 'api', version: '1.0.0', approvalType: 'release', approver: 'bob', approverRole: 'sre' })
  await rejectsWith(vr.trackDeployment(dep({ environmentName: 'production', deployedBy: 'dana' })), 'APPROVAL_REQUIRED')
  await vr.approve({ productName: 'api', version: '1.0.0', approvalType: 'release', approver: 'cy', approverRole: 'sre' })
  const shipped = await vr.trackDeployment(dep({ environmentName: 'production', deployedBy: 'dana' }))
  assert.equal(shipped.preflight.verdict.decision, 'allowed')

  const revoked = await vr.revokeApproval(r1.id, { actor: 'lead', reason: 'wrong build' })
  assert.ok(revoked.revokedAt instanceof Date)
  assert.equal(revoked.revokedBy, 'lead')
  await rejectsWith(vr.revokeApproval(r1.id, { actor: 'lead', reason: 'again' }), 'INVALID_INPUT', { field: 'id' })
  await rejectsWith(vr.revokeApproval('nope', { actor: 'lead', reason: 'x' }), 'NOT_FOUND')
  const list = await vr.approvals('api', '1.0.0')
  assert.deepEqual(list.map((x) => [x.approver, x.revokedAt instanceof Date]), [
    ['quinn', false], ['ann', true], ['bob', false], ['cy', false],
  ])
  await rejectsWith(vr.approve({ productName: 'api', version: '9', approvalType: 'qa', approver: 'q' }), 'NOT_FOUND')
  await rejectsWith(vr.approve({ productName: 'api', version: '1.0.0', approvalType: 'qa!', approver: 'q' }), 'INVALID_INPUT', { field: 'approvalType' })
  await rejectsWith(vr.approvals('api', '9'), 'NOT_FOUND')
})

test('report-only rules warn, disabled rules sleep, a bypass needs a reason', async () => {
  const vr = fresh()
  await vr.addRule({ ...flow, status: 'report_only' })
  const d = await vr.trackDeployment(dep({ environmentName: 'production' }))
  assert.equal(d.preflight.verdict.decision, 'allowed')
  assert.equal(d.preflight.verdict.outcomes[0].status, 'failed_report_only')
  assert.equal(d.preflight.verdict.outcomes[0].code, 'FLOW_VIOLATION')

  await vr.setRuleStatus('Staging first', { status: 'enabled', actor: 'a', reason: 'b' })
  await rejectsWith(
    vr.trackDeployment(dep({ version: '2', environmentName: 'production', skipPreflightChecks: true })),
    'INVALID_INPUT',
    { field: 'skipPreflightReason' },
  )
  const bypass = await vr.trackDeployment(dep({ version: '2', environmentName: 'production', skipPreflightChecks: true, skipPreflightReason: 'INC-42' }))
  assert.equal(bypass.preflight.status, 'skipped')
  assert.equal(bypass.preflight.bypassReason, 'INC-42')
  assert.equal(bypass.preflight.verdict.decision, 'blocked', 'what the rules would have said')

  await vr.setRuleStatus('Staging first', { status: 'disabled', actor: 'a', reason: 'b' })
  const free = await vr.trackDeployment(dep({ version: '3', environmentName: 'production' }))
  assert.deepEqual(free.preflight.verdict.outcomes.map((o) => o.status), ['not_applicable'])
})
