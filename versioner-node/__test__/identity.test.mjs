// Identity: the actor of a write (actingAs), approvals as the actor's own with its role, the
// approval catalog, and self-approval exclusion by principal.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { dep, fresh, rejectsWith, throwsWith } from './helpers.mjs'

test('the actor records events, approvals and rule changes', async () => {
  const vr = fresh()
  const dana = vr.actingAs('dana', 'sre')
  const b = await dana.trackBuild({ productName: 'api', version: '1', status: 'completed' })
  assert.deepEqual([b.builtBy, b.recordedBy], ['dana', 'dana'])
  const d = await dana.trackDeployment(dep({ productName: 'api', version: '1', environmentName: 'staging', status: 'completed', deployedBy: 'ci-user' }))
  assert.deepEqual([d.deployedBy, d.recordedBy], ['ci-user', 'dana'])
  const a = await dana.approve({ productName: 'api', version: '1', approvalType: 'performance' })
  assert.deepEqual([a.approver, a.approverRole], ['dana', 'sre'])
  await rejectsWith(dana.approve({ productName: 'api', version: '1', approvalType: 'release', approver: 'rita' }), 'INVALID_INPUT', { field: 'approver' })
  const forbidden = await rejectsWith(dana.approve({ productName: 'api', version: '1', approvalType: 'security' }), 'FORBIDDEN')
  assert.match(forbidden.message, /may not grant `security` approvals/)
  const typo = await rejectsWith(dana.approve({ productName: 'api', version: '1', approvalType: 'secuirty' }), 'INVALID_INPUT', { field: 'approvalType' })
  assert.match(typo.message, /accepted: qa, security, uat, code_review/)
  assert.equal((await vr.approvals('api', '1')).length, 1, 'the refusals wrote nothing')

  await vr.addRule({ name: 'Serial', type: 'concurrency' })
  await dana.setRuleStatus('Serial', { status: 'disabled', reason: 'INC-1' })
  await dana.applyPolicy({ rules: [{ name: 'Serial', type: 'concurrency' }] })
  assert.deepEqual((await vr.ruleHistory('Serial')).map((h) => h.actor), ['dana', 'dana'])

  const viewer = vr.actingAs('val', 'viewer')
  await rejectsWith(viewer.addRule({ name: 'x', type: 'concurrency' }), 'FORBIDDEN')
  throwsWith(() => vr.actingAs('x', 'wizard'), 'INVALID_INPUT', { field: 'role' })
})

test('a false deployedBy cannot defeat self-approval exclusion', async () => {
  const vr = fresh()
  await vr.applyPolicy('[[rules]]\nname = "one"\ntype = "release_approval"\nenvironments = ["prod"]\nrequired = 1\n')
  await vr.trackBuild({ productName: 'api', version: '1', status: 'completed', builtBy: 'bob' })
  const dee = vr.actingAs('dee', 'sre')
  await dee.approve({ productName: 'api', version: '1', approvalType: 'release' })
  await rejectsWith(dee.trackDeployment(dep({ productName: 'api', version: '1', environmentName: 'prod', status: 'started', deployedBy: 'zed' })), 'APPROVAL_REQUIRED')
  const ok = await vr.actingAs('eve').trackDeployment(dep({ productName: 'api', version: '1', environmentName: 'prod', status: 'started', deployedBy: 'zed' }))
  assert.equal(ok.status, 'started')
})

test('the policy declares approval types and who grants them', async () => {
  const vr = fresh()
  await vr.applyPolicy('[approvals]\ntypes = ["change_board"]\n[approvals.grants]\nqa = ["qa", "change_board"]\n')
  await vr.trackBuild({ productName: 'api', version: '1', status: 'completed' })
  const a = await vr.actingAs('quinn', 'qa').approve({ productName: 'api', version: '1', approvalType: 'Change Board' })
  assert.equal(a.approvalType, 'change_board')
  const bad = await rejectsWith(vr.applyPolicy('[approvals.grants]\nwizard = ["qa"]\nviewer = ["qa"]\n'), 'INVALID_INPUT')
  assert.deepEqual(bad.problems.map((p) => p.field), ['grants.viewer', 'grants.wizard'])
})
