// Deployment Requests end to end: a `deployment_request_required` rule on production, the life
// of a request (draft, submitted, slots filled by roles that may grant them, steps, completion
// by deployments), what the preflight says at each step, the progress grid, templates,
// releases, and every error path with its code, field and message.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { test } from 'node:test'

import { Client, dep, fresh, rejectsWith } from './helpers.mjs'

const POLICY = {
  rules: [
    {
      name: 'DR for production',
      type: 'deployment_request_required',
      environments: ['production'],
      approvalTypes: ['qa', 'security'],
    },
  ],
}

/** A Versioner with the rule, and api, web and worker 1.0.0 built. */
async function setup() {
  const vr = fresh()
  await vr.applyPolicy(POLICY)
  for (const productName of ['api', 'web', 'worker']) {
    await vr.trackBuild({ productName, version: '1.0.0', status: 'completed' })
  }
  return vr
}

/** The request of the main flow: api 1.0.0 to production, qa + security, one step each side. */
function draft(overrides = {}) {
  return {
    name: 'Q4',
    versions: [{ productName: 'api', version: '1.0.0' }],
    environments: ['production'],
    slots: ['qa', 'security'],
    preSteps: ['Announce in #deploys'],
    postSteps: ['Check the dashboards'],
    createdBy: 'dana',
    ...overrides,
  }
}

const prod = (overrides = {}) => dep({ environmentName: 'production', ...overrides })
const dev = { actor: 'dana', role: 'developer' }

/** Asserts the properties of a deployment refused by a Deployment Request. */
function assertRequestBlock(err, code, rule) {
  assert.equal(err.code, code)
  assert.equal(err.httpStatus, 428)
  assert.equal(err.retryAfter, null, 'a person must act: time alone clears nothing')
  assert.equal(err.ruleName, rule)
  assert.equal(err.verdict.decision, 'blocked')
  assert.equal(err.verdict.code, code)
  assert.equal(err.verdict.httpStatus, 428)
  assert.ok(err.violations.some((v) => v.ruleName === rule && v.code === code && v.status === 'failed'))
  assert.match(err.message, new RegExp(`\\[${code}\\] ${rule.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`))
}

test('a deployment_request_required rule governs production from draft to completed', async () => {
  const vr = await setup()

  // No request at all.
  let err = await rejectsWith(vr.trackDeployment(prod()), 'DEPLOYMENT_REQUEST_REQUIRED')
  assertRequestBlock(err, 'DEPLOYMENT_REQUEST_REQUIRED', 'DR for production')
  assert.match(err.message, /no submitted Deployment Request covers it \(a draft does not count\)/)
  assert.deepEqual(err.violations[0].details.required_approval_types, ['qa', 'security'])

  // A draft: recorded with everything given, and it does not count.
  const dr = await vr.createRequest(
    draft({ releaseNotes: 'Faster checkout', issueLinks: ['https://issues.example.com/42'], metadata: { changeTicket: 'CHG-42' } }),
  )
  assert.equal(dr.status, 'draft')
  assert.equal(dr.name, 'Q4')
  assert.equal(dr.createdBy, 'dana')
  assert.equal(dr.allowSelfApproval, false, 'production: the creator may not fill required slots')
  assert.ok(dr.createdAt instanceof Date && dr.updatedAt instanceof Date)
  assert.equal(dr.deployedAt, undefined)
  assert.deepEqual(dr.context, {
    releaseNotes: 'Faster checkout',
    issueLinks: ['https://issues.example.com/42'],
    metadata: { changeTicket: 'CHG-42' },
  })
  assert.equal(dr.versions.length, 1)
  assert.deepEqual([dr.versions[0].productName, dr.versions[0].version], ['api', '1.0.0'])
  assert.equal(dr.versions[0].versionId, (await vr.version('api', '1.0.0')).id)
  assert.deepEqual(dr.environments, ['production'])
  assert.deepEqual(dr.slots.map((s) => [s.approvalType, s.optional, s.status]), [
    ['qa', false, 'pending'],
    ['security', false, 'pending'],
  ])
  assert.deepEqual(dr.steps.map((s) => [s.text, s.phase, s.doneBy]), [
    ['Announce in #deploys', 'pre', undefined],
    ['Check the dashboards', 'post', undefined],
  ])
  assert.deepEqual(dr.history.map((h) => [h.action, h.from, h.to, h.by]), [['created', undefined, 'draft', 'dana']])
  assert.deepEqual(await vr.request(dr.id), dr)
  err = await rejectsWith(vr.trackDeployment(prod()), 'DEPLOYMENT_REQUEST_REQUIRED')
  assertRequestBlock(err, 'DEPLOYMENT_REQUEST_REQUIRED', 'DR for production')

  // Submitted, waiting for both slots: pending, naming the missing slots and the open step.
  const submitted = await vr.submitRequest(dr.id, { ...dev, comment: 'Ready for review' })
  assert.equal(submitted.status, 'in_progress')
  assert.deepEqual(submitted.history.at(-1), {
    ...submitted.history.at(-1),
    action: 'submitted',
    from: 'draft',
    to: 'in_progress',
    by: 'dana',
    comment: 'Ready for review',
  })
  const verdict = await vr.check({ productName: 'api', version: '1.0.0', environmentName: 'production' })
  assert.equal(verdict.decision, 'blocked')
  assert.equal(verdict.retryAfter, undefined)
  const pending = verdict.outcomes.find((o) => o.code === 'DEPLOYMENT_REQUEST_PENDING')
  assert.equal(pending.ruleName, 'Deployment Request: Q4')
  assert.equal(pending.ruleType, 'deployment_request_required')
  assert.equal(pending.status, 'failed')
  assert.deepEqual(pending.details.missing_slots, ['qa', 'security'])
  assert.deepEqual(pending.details.open_pre_steps, ['Announce in #deploys'])
  assert.equal(pending.details.request_id, dr.id)

  // A submitted request missing a slot: still refused, naming the slot.
  const qa = await vr.approveRequest(dr.id, 'qa', { actor: 'quinn', role: 'qa', comment: 'Regression suite green' })
  assert.equal(qa.status, 'in_progress')
  assert.deepEqual([qa.slots[0].status, qa.slots[0].decidedBy, qa.slots[0].decidedRole, qa.slots[0].comment], [
    'approved',
    'quinn',
    'qa',
    'Regression suite green',
  ])
  assert.ok(qa.slots[0].decidedAt instanceof Date)
  err = await rejectsWith(vr.trackDeployment(prod()), 'DEPLOYMENT_REQUEST_PENDING')
  assertRequestBlock(err, 'DEPLOYMENT_REQUEST_PENDING', 'Deployment Request: Q4')
  assert.match(err.message, /is waiting for the approval\(s\) security/)
  assert.deepEqual(
    err.violations.map((v) => v.code),
    ['DEPLOYMENT_REQUEST_PENDING', 'DEPLOYMENT_REQUEST_REQUIRED'],
    'the request and the rule both refuse',
  )

  // A principal whose role may not grant `security`: FORBIDDEN, nothing written.
  const before = await vr.request(dr.id)
  const seq = await vr.lastEventSeq()
  err = await rejectsWith(vr.approveRequest(dr.id, 'security', { actor: 'devon', role: 'developer' }), 'FORBIDDEN')
  assert.equal(err.httpStatus, 403)
  assert.match(err.message, /may not grant `security`/)
  assert.equal(err.verdict, undefined)
  assert.deepEqual(await vr.request(dr.id), before)
  assert.equal(await vr.lastEventSeq(), seq)

  // Every slot approved, but the pre-deployment step is open.
  const approved = await vr.approveRequest(dr.id, 'security', { actor: 'sam', role: 'security' })
  assert.equal(approved.status, 'approved')
  err = await rejectsWith(vr.trackDeployment(prod()), 'DEPLOYMENT_REQUEST_PENDING')
  assertRequestBlock(err, 'DEPLOYMENT_REQUEST_PENDING', 'Deployment Request: Q4')
  assert.match(err.message, /pre-deployment steps not done: "Announce in #deploys"/)
  assert.deepEqual(err.violations.map((v) => v.code), ['DEPLOYMENT_REQUEST_PENDING'], 'the rule is satisfied')
  // The decision keeps the request as the preflight saw it.
  const [decision] = await vr.violations({ outcome: 'blocked', limit: 1 })
  assert.deepEqual(decision.facts.deploymentRequests.map((r) => [r.id, r.name, r.status, r.openPreSteps]), [
    [dr.id, 'Q4', 'approved', ['Announce in #deploys']],
  ])
  assert.deepEqual(decision.facts.deploymentRequests[0].slots.map((s) => s.decidedBy), ['quinn', 'sam'])

  // A post-deployment step before deploying: refused.
  err = await rejectsWith(vr.requestStepDone(dr.id, 'Check the dashboards', dev), 'INVALID_INPUT', { field: 'step' })
  assert.match(err.message, /"Check the dashboards" is a post-deployment step: it can be done once .* \(0 of 1 deployed\)/)

  // The pre-deployment step done: the deployment goes ahead.
  const stepped = await vr.requestStepDone(dr.id, 'Announce in #deploys', dev)
  assert.equal(stepped.steps[0].doneBy, 'dana')
  assert.ok(stepped.steps[0].doneAt instanceof Date)
  const started = await vr.trackDeployment(prod())
  assert.equal(started.status, 'started')
  const passed = started.preflight.verdict.outcomes.find((o) => o.ruleName === 'Deployment Request: Q4')
  assert.equal(passed.status, 'passed')
  let progress = await vr.requestProgress(dr.id)
  assert.deepEqual(progress, {
    requestId: dr.id,
    status: 'approved',
    deployed: false,
    cells: [{ productName: 'api', version: '1.0.0', environment: 'production', state: 'in_progress', deploymentId: started.id }],
  })

  // Deployed: approved until the post-deployment step is done, then completed.
  await vr.trackDeployment(prod({ status: 'completed' }))
  const deployed = await vr.request(dr.id)
  assert.equal(deployed.status, 'approved', 'the post-deployment step is open')
  assert.ok(deployed.deployedAt instanceof Date)
  progress = await vr.requestProgress(dr.id)
  assert.equal(progress.deployed, true)
  assert.equal(progress.cells[0].state, 'deployed')
  const done = await vr.requestStepDone(dr.id, 'Check the dashboards', dev)
  assert.equal(done.status, 'completed')
  assert.deepEqual(done.history.map((h) => h.action), [
    'created',
    'submitted',
    'slot_approved',
    'slot_approved',
    'approved',
    'step_done',
    'deployed',
    'step_done',
    'completed',
  ])
  assert.equal(done.history.find((h) => h.action === 'deployed').by, undefined, 'the deployment did it')

  // The outbox: the reference's dr.* events, one `dr.approved` per slot.
  const events = (await vr.eventsSince(0, 1000)).map((e) => e.eventType).filter((t) => t.startsWith('dr.') && t !== 'dr.updated')
  assert.deepEqual(events, ['dr.created', 'dr.activated', 'dr.approved', 'dr.approved', 'dr.completed'])

  // A completed request no longer covers anything: the rule asks for a new one.
  err = await rejectsWith(vr.trackDeployment(prod({ status: 'started' })), 'DEPLOYMENT_REQUEST_REQUIRED')
  assertRequestBlock(err, 'DEPLOYMENT_REQUEST_REQUIRED', 'DR for production')
})

test('a rejected slot blocks until the request is reworked; deactivate and cancel', async () => {
  const vr = await setup()
  const dr = await vr.createRequest(draft({ name: 'R' }))
  await vr.submitRequest(dr.id, dev)

  // Rejecting needs a comment (the core's rule), and someone to reject.
  let err = await rejectsWith(vr.rejectRequest(dr.id, 'qa', { actor: 'quinn', role: 'qa' }), 'INVALID_INPUT', { field: 'comment' })
  assert.match(err.message, /is required to reject a slot: say why, so the requester can act on it/)
  err = await rejectsWith(vr.rejectRequest(dr.id, 'qa'), 'INVALID_INPUT', { field: 'actor' })
  assert.match(err.message, /is required: who does this/)
  assert.equal((await vr.request(dr.id)).slots[0].status, 'pending')

  const rejected = await vr.rejectRequest(dr.id, 'qa', { actor: 'quinn', role: 'qa', comment: 'fails the smoke tests' })
  assert.equal(rejected.status, 'rejected')
  assert.deepEqual([rejected.slots[0].status, rejected.slots[0].comment], ['rejected', 'fails the smoke tests'])
  assert.deepEqual(rejected.history.slice(-2).map((h) => [h.action, h.comment]), [
    ['slot_rejected', 'qa: fails the smoke tests'],
    ['rejected', undefined],
  ])
  err = await rejectsWith(vr.trackDeployment(prod()), 'DEPLOYMENT_REQUEST_PENDING')
  assertRequestBlock(err, 'DEPLOYMENT_REQUEST_PENDING', 'Deployment Request: R')
  assert.match(err.message, /was rejected \(qa by quinn at /)
  assert.match(err.message, /rework it \(`versioner requests deactivate /)

  // Approving a rejected request is an illegal transition, naming the status.
  const illegal = await rejectsWith(vr.approveRequest(dr.id, 'security', { actor: 'sam', role: 'security' }), 'INVALID_INPUT', {
    field: 'status',
  })
  assert.match(illegal.message, /Deployment Request `R` is rejected; it can be approved only when in_progress or approved/)

  // Deactivate: back to draft, every decision cleared.
  const reworked = await vr.deactivateRequest(dr.id, { ...dev, comment: 'fixing the smoke tests' })
  assert.equal(reworked.status, 'draft')
  assert.ok(reworked.slots.every((s) => s.status === 'pending' && s.decidedBy === undefined))
  await rejectsWith(vr.trackDeployment(prod()), 'DEPLOYMENT_REQUEST_REQUIRED')
  const again = await rejectsWith(vr.deactivateRequest(dr.id, dev), 'INVALID_INPUT', { field: 'status' })
  assert.match(again.message, /is draft; it can be deactivated only when in_progress or approved or rejected/)

  // Cancel, and then nothing more.
  const cancelled = await vr.cancelRequest(dr.id, dev)
  assert.equal(cancelled.status, 'cancelled')
  const closed = await rejectsWith(vr.submitRequest(dr.id, dev), 'INVALID_INPUT', { field: 'status' })
  assert.match(closed.message, /is cancelled; it can be submitted only when draft/)
  await rejectsWith(vr.cancelRequest(dr.id, dev), 'INVALID_INPUT', { field: 'status' })
  const events = (await vr.eventsSince(0, 1000)).map((e) => e.eventType).filter((t) => t.startsWith('dr.') && t !== 'dr.updated')
  assert.deepEqual(events, ['dr.created', 'dr.activated', 'dr.rejected', 'dr.deactivated', 'dr.cancelled'])
})

test('slots are filled by the right people, once each', async () => {
  const vr = await setup()
  const dr = await vr.createRequest(draft({ name: 'S' }))
  await vr.submitRequest(dr.id, dev)

  // The creator may not fill a required slot of a production request, even as admin.
  let err = await rejectsWith(vr.approveRequest(dr.id, 'qa', { actor: 'dana', role: 'admin' }), 'FORBIDDEN')
  assert.match(err.message, /`dana` created Deployment Request `S` and may not fill its required `qa` slot \(self-approval is off/)

  // One principal, one slot (names compared as principals are).
  await vr.approveRequest(dr.id, 'qa', { actor: 'lee', role: 'release_manager' })
  err = await rejectsWith(vr.approveRequest(dr.id, 'security', { actor: 'Lee', role: 'release_manager' }), 'INVALID_INPUT', {
    field: 'actor',
  })
  assert.match(err.message, /already decided the `qa` slot of Deployment Request `S`; one person fills at most one slot/)

  // A type with no pending slot, one the request does not have, one nobody knows.
  err = await rejectsWith(vr.approveRequest(dr.id, 'qa', { actor: 'quinn', role: 'qa' }), 'INVALID_INPUT', { field: 'approvalType' })
  assert.match(err.message, /every `qa` slot of Deployment Request `S` is already decided/)
  err = await rejectsWith(vr.approveRequest(dr.id, 'compliance', { actor: 'cole', role: 'compliance' }), 'INVALID_INPUT', {
    field: 'approvalType',
  })
  assert.match(err.message, /has no `compliance` slot; its slots: qa, security/)
  err = await rejectsWith(vr.approveRequest(dr.id, 'vibes', { actor: 'vic' }), 'INVALID_INPUT')
  assert.match(err.message, /vibes/)

  // Bad arguments: the option at fault, as the caller wrote it.
  await rejectsWith(vr.approveRequest(dr.id, 'security', { actor: 'sam', role: 'wizard' }), 'INVALID_INPUT', { field: 'role' })
  await rejectsWith(vr.approveRequest(dr.id, 'security', { actor: 'sam', approverRole: 'security' }), 'INVALID_INPUT', {
    field: 'approverRole',
  })
  await rejectsWith(vr.approveRequest(dr.id, undefined, { actor: 'sam' }), 'INVALID_INPUT', { field: 'approvalType' })
  await rejectsWith(vr.approveRequest(42, 'security', { actor: 'sam' }), 'INVALID_INPUT', { field: 'id' })
  await rejectsWith(vr.approveRequest(dr.id, 'security', 'sam'), 'INVALID_INPUT', { field: 'options' })
  err = await rejectsWith(vr.approveRequest('no-such-id', 'security', { actor: 'sam', role: 'security' }), 'NOT_FOUND')
  assert.match(err.message, /deployment request `no-such-id` not found/)
  assert.equal((await vr.request(dr.id)).slots[1].status, 'pending')

  // An actor is needed when the instance knows none.
  err = await rejectsWith(vr.submitRequest(dr.id), 'INVALID_INPUT', { field: 'actor' })
  assert.match(err.message, /is required: who does this/)

  // Roles that may not manage requests may not create or submit them.
  const qaPerson = vr.actingAs('vic', 'qa')
  err = await rejectsWith(qaPerson.createRequest(draft({ name: 'V', createdBy: undefined })), 'FORBIDDEN')
  assert.equal(err.httpStatus, 403)
  // Acting as someone, the actor may be left out: the request is theirs.
  const asDev = vr.actingAs('devi', 'developer')
  const mine = await asDev.createRequest(draft({ name: 'Mine', createdBy: undefined }))
  assert.equal(mine.createdBy, 'devi')

  // Outside production, self-approval is on by default.
  const staging = await vr.createRequest(draft({ name: 'Staging', environments: ['staging'] }))
  assert.equal(staging.allowSelfApproval, true)
  await vr.submitRequest(staging.id, { actor: 'dana', role: 'admin' })
  const self = await vr.approveRequest(staging.id, 'qa', { actor: 'dana', role: 'admin' })
  assert.equal(self.slots[0].decidedBy, 'dana')
})

test('bad requests are refused with the option at fault and write nothing', async () => {
  const vr = await setup()
  const seq = await vr.lastEventSeq()
  const cases = [
    [draft({ name: ' ' }), 'name', /required|blank/],
    [draft({ versions: [{ productName: 'api', version: '1.0.0' }, { productName: 'API', version: '1.0.0' }] }), 'versions', /names two versions of `api`/],
    [draft({ versions: [{ productName: ' ', version: '1.0.0' }] }), 'versions[0].productName', /required|blank/],
    [draft({ slots: ['vibes'] }), 'slots', /vibes/],
    [draft({ optionalSlots: ['vibes'] }), 'slots', /vibes/],
    [draft({ environments: ['prod', 'PROD'] }), 'environments', /names `PROD` twice/],
    [draft({ preSteps: ['a', 'a'] }), 'preSteps', /`a` is listed twice/],
    [draft({ preSteps: ['a'], postSteps: ['a'] }), 'postSteps', /`a` is listed twice/],
    [draft({ preSteps: [' '] }), 'preSteps[0]', /required|blank/],
    [draft({ createdBy: undefined }), 'createdBy', /is required: who does this/],
    [draft({ releaseNotes: 'x'.repeat(20_001) }), 'releaseNotes', /the limit is 20000/],
    [draft({ metadata: [1, 2] }), 'metadata', /map|object/],
    [draft({ slot: ['qa'] }), 'slot', /unknown field `slot`/],
    [draft({ versions: 'api@1.0.0' }), 'versions', /sequence|array/],
    [draft({ allowSelfApproval: 'yes' }), 'allowSelfApproval', /boolean/],
  ]
  for (const [options, field, message] of cases) {
    const err = await rejectsWith(vr.createRequest(options), 'INVALID_INPUT')
    assert.equal(err.field, field, `${JSON.stringify(options)}: ${err.message}`)
    assert.equal(err.httpStatus, 422)
    assert.match(err.message, message)
  }
  await rejectsWith(vr.createRequest(), 'INVALID_INPUT', { field: 'options' })
  let err = await rejectsWith(vr.createRequest(draft({ versions: [{ productName: 'api', version: '9.9.9' }] })), 'NOT_FOUND')
  assert.equal(err.httpStatus, 404)
  assert.match(err.message, /9\.9\.9/)
  err = await rejectsWith(vr.createRequest(draft({ template: 'nope' })), 'NOT_FOUND')
  assert.match(err.message, /template `nope` not found/)
  assert.equal(await vr.lastEventSeq(), seq, 'nothing was written')
  assert.deepEqual(await vr.requests(), [])

  // A draft without a version cannot be submitted; one without an environment neither.
  const empty = await vr.createRequest({ name: 'empty', environments: ['production'], slots: ['qa'], createdBy: 'd' })
  err = await rejectsWith(vr.submitRequest(empty.id, { actor: 'd' }), 'INVALID_INPUT', { field: 'versions' })
  assert.match(err.message, /has no product version; add at least one before submitting it/)
  await vr.trackBuild({ productName: 'api', version: 3, status: 'completed' })
  const nowhere = await vr.createRequest({ name: 'nowhere', versions: [{ productName: 'api', version: 3 }], slots: ['qa'], createdBy: 'd' })
  assert.equal(nowhere.versions[0].version, '3', 'a number version is read as text')
  err = await rejectsWith(vr.submitRequest(nowhere.id, { actor: 'd' }), 'INVALID_INPUT', { field: 'environments' })
  assert.match(err.message, /targets no environment/)
  assert.equal((await vr.request(empty.id)).status, 'draft')

  // Lookups.
  err = await rejectsWith(vr.request('no-such-id'), 'NOT_FOUND')
  assert.match(err.message, /deployment request `no-such-id` not found/)
  await rejectsWith(vr.requestProgress('no-such-id'), 'NOT_FOUND')
  await rejectsWith(vr.request(), 'INVALID_INPUT', { field: 'id' })
  err = await rejectsWith(vr.requests({ status: 'open' }), 'INVALID_INPUT', { field: 'status' })
  assert.match(err.message, /unknown Deployment Request status `open`; expected one of: draft, in_progress, approved, rejected, completed, cancelled/)
  await rejectsWith(vr.requests({ product: 'api', limit: 5 }), 'INVALID_INPUT', { field: 'limit' })
  await rejectsWith(vr.requests('draft'), 'INVALID_INPUT', { field: 'options' })

  // Steps: unknown, and the options they take.
  const dr = await vr.createRequest(draft({ name: 'Steps' }))
  await vr.submitRequest(dr.id, dev)
  err = await rejectsWith(vr.requestStepDone(dr.id, 'Dance', dev), 'INVALID_INPUT', { field: 'step' })
  assert.match(err.message, /has no step "Dance"; its steps: "Announce in #deploys", "Check the dashboards"/)
  await rejectsWith(vr.requestStepDone(dr.id, 'Announce in #deploys', { ...dev, comment: 'x' }), 'INVALID_INPUT', { field: 'comment' })
  await vr.requestStepDone(dr.id, 'Announce in #deploys', dev)
  err = await rejectsWith(vr.requestStepDone(dr.id, 'Announce in #deploys', dev), 'INVALID_INPUT', { field: 'step' })
  assert.match(err.message, /"Announce in #deploys" was already done by dana at /)
  // Completing by hand is for releases only.
  err = await rejectsWith(vr.completeRequest(dr.id, dev), 'INVALID_INPUT', { field: 'action' })
  assert.match(err.message, /has approval slots or steps: it completes when every deployment succeeded/)
})

test('updateRequest edits a draft; only a draft', async () => {
  const vr = await setup()
  await vr.trackBuild({ productName: 'api', version: '1.1.0', status: 'completed' })
  const dr = await vr.createRequest(draft({ name: 'Edit me', releaseNotes: 'old', issueLinks: ['https://x/1'] }))
  const edited = await vr.updateRequest(dr.id, {
    name: 'Edited',
    description: 'The Q4 platform release',
    releaseNotes: 'new',
    addVersions: [{ productName: 'api', version: '1.1.0' }, { productName: 'web', version: '1.0.0' }],
    slots: ['qa'],
    optionalSlots: ['security'],
    postSteps: [],
    actor: 'dana',
  })
  assert.equal(edited.name, 'Edited')
  assert.equal(edited.description, 'The Q4 platform release')
  assert.deepEqual(edited.context, { releaseNotes: 'new', issueLinks: [], metadata: {} }, 'the context is replaced as a whole')
  assert.deepEqual(edited.versions.map((v) => `${v.productName}@${v.version}`), ['api@1.1.0', 'web@1.0.0'])
  assert.deepEqual(edited.slots.map((s) => [s.approvalType, s.optional]), [['qa', false], ['security', true]])
  assert.deepEqual(edited.steps.map((s) => s.text), ['Announce in #deploys'], 'pre-steps kept, post-steps cleared')
  assert.equal(edited.history.at(-1).action, 'updated')
  const removed = await vr.updateRequest(dr.id, { removeVersions: ['WEB'], actor: 'dana' })
  assert.deepEqual(removed.versions.map((v) => v.productName), ['api'])

  let err = await rejectsWith(vr.updateRequest(dr.id, { removeVersions: ['worker'], actor: 'dana' }), 'INVALID_INPUT', {
    field: 'removeVersions',
  })
  assert.match(err.message, /`worker` is not a product or version id of Deployment Request `Edited`/)
  await rejectsWith(vr.updateRequest(dr.id, { addVersions: [{ productName: '', version: '1' }], actor: 'dana' }), 'INVALID_INPUT', {
    field: 'addVersions[0].productName',
  })
  err = await rejectsWith(
    vr.updateRequest(dr.id, { addVersions: [{ productName: 'web', version: '1.0.0' }, { productName: 'web', version: '1.0.0' }], actor: 'dana' }),
    'INVALID_INPUT',
    { field: 'addVersions' },
  )
  assert.match(err.message, /names two versions of `web`/)
  await rejectsWith(vr.updateRequest(dr.id, { slots: ['vibes'], actor: 'dana' }), 'INVALID_INPUT', { field: 'slots' })
  await rejectsWith(vr.updateRequest(dr.id, { nmae: 'typo', actor: 'dana' }), 'INVALID_INPUT', { field: 'nmae' })
  await rejectsWith(vr.updateRequest(dr.id), 'INVALID_INPUT', { field: 'change' })
  await rejectsWith(vr.updateRequest('no-such-id', { name: 'x', actor: 'dana' }), 'NOT_FOUND')
  assert.equal((await vr.request(dr.id)).name, 'Edited', 'nothing was written')

  await vr.submitRequest(dr.id, dev)
  err = await rejectsWith(vr.updateRequest(dr.id, { name: 'Late', actor: 'dana' }), 'INVALID_INPUT', { field: 'status' })
  assert.match(err.message, /Deployment Request `Edited` is in_progress; it can be edited only when draft/)
})

test('a multi-product request (3 products × 2 environments) tracks its grid to completion', async () => {
  const vr = await setup()
  const dr = await vr.createRequest({
    name: 'Platform 3',
    versions: ['api', 'web', 'worker'].map((productName) => ({ productName, version: '1.0.0' })),
    environments: ['staging', 'production'],
    slots: ['qa', 'security'],
    createdBy: 'dana',
  })
  const states = async () => (await vr.requestProgress(dr.id)).cells.map((c) => c.state)
  const grid = await vr.requestProgress(dr.id)
  assert.deepEqual(
    grid.cells.map((c) => `${c.productName}@${c.version}/${c.environment}`),
    ['api@1.0.0/staging', 'api@1.0.0/production', 'web@1.0.0/staging', 'web@1.0.0/production', 'worker@1.0.0/staging', 'worker@1.0.0/production'],
  )
  assert.deepEqual(await states(), Array(6).fill('not_deployed'))
  assert.equal(grid.deployed, false)
  assert.equal(grid.status, 'draft')

  await vr.submitRequest(dr.id, dev)
  // Staging is covered too: pending until approved (no rule needed for that).
  const err = await rejectsWith(vr.trackDeployment(dep({ productName: 'web' })), 'DEPLOYMENT_REQUEST_PENDING')
  assertRequestBlock(err, 'DEPLOYMENT_REQUEST_PENDING', 'Deployment Request: Platform 3')
  await vr.approveRequest(dr.id, 'qa', { actor: 'quinn', role: 'qa' })
  await vr.approveRequest(dr.id, 'security', { actor: 'sam', role: 'security' })

  await vr.trackDeployment(dep({ productName: 'api' }))
  await vr.trackDeployment(dep({ productName: 'api', status: 'completed' }))
  await vr.trackDeployment(dep({ productName: 'web' }))
  await vr.trackDeployment(dep({ productName: 'web', status: 'failed' }))
  const worker = await vr.trackDeployment(dep({ productName: 'worker' }))
  assert.deepEqual(await states(), ['deployed', 'not_deployed', 'failed', 'not_deployed', 'in_progress', 'not_deployed'])
  const cells = (await vr.requestProgress(dr.id)).cells
  assert.equal(cells[4].deploymentId, worker.id)
  assert.equal(cells[1].deploymentId, undefined)

  await vr.trackDeployment(dep({ productName: 'worker', status: 'completed' }))
  await vr.trackDeployment(dep({ productName: 'web' }))
  await vr.trackDeployment(dep({ productName: 'web', status: 'completed' }))
  for (const productName of ['api', 'web', 'worker']) {
    await vr.trackDeployment(prod({ productName }))
    assert.equal((await vr.request(dr.id)).status, 'approved')
    await vr.trackDeployment(prod({ productName, status: 'completed' }))
  }
  assert.deepEqual(await states(), Array(6).fill('deployed'))
  const progress = await vr.requestProgress(dr.id)
  assert.equal(progress.deployed, true)
  assert.equal(progress.status, 'completed', 'no post-deployment steps: completed by the last deployment')

  // Filters.
  const count = async (options) => (await vr.requests(options)).length
  assert.equal(await count({ status: 'completed', product: 'WEB', environment: 'production' }), 1)
  assert.equal(await count({ status: 'in_progress' }), 0)
  assert.equal(await count({ product: 'other' }), 0)
  assert.equal(await count({ environment: 'dev' }), 0)
  assert.equal(await count({ releasesOnly: true }), 0)
  assert.equal(await count(), 1)
})

test('templates prefill requests; a template read back can be stored again', async () => {
  const vr = await setup()
  const saved = await vr.putRequestTemplates([
    {
      name: 'Production change',
      description: 'Standard production change',
      slots: [{ approvalType: 'qa' }, { approvalType: 'security', optional: true }],
      preSteps: ['Freeze merges'],
      environments: ['production'],
    },
  ])
  assert.deepEqual(saved, [
    {
      name: 'Production change',
      description: 'Standard production change',
      slots: [
        { approvalType: 'qa', optional: false },
        { approvalType: 'security', optional: true },
      ],
      preSteps: ['Freeze merges'],
      postSteps: [],
      environments: ['production'],
    },
  ])
  assert.deepEqual(await vr.requestTemplates(), saved)
  // Round trip: what requestTemplates() gives is what putRequestTemplates takes.
  assert.deepEqual(await vr.putRequestTemplates(await vr.requestTemplates()), saved)

  const dr = await vr.createRequest({
    name: 'From template',
    versions: [{ productName: 'api', version: '1.0.0' }],
    template: 'production change',
    createdBy: 'dana',
  })
  assert.equal(dr.template, 'Production change')
  assert.deepEqual(dr.environments, ['production'])
  assert.equal(dr.description, 'Standard production change')
  assert.deepEqual(dr.slots.map((s) => [s.approvalType, s.optional]), [['qa', false], ['security', true]])
  assert.deepEqual(dr.steps.map((s) => [s.text, s.phase]), [['Freeze merges', 'pre']])
  // The optional slot advises: approving the required one is enough.
  await vr.submitRequest(dr.id, dev)
  assert.equal((await vr.approveRequest(dr.id, 'qa', { actor: 'quinn', role: 'qa' })).status, 'approved')

  let err = await rejectsWith(vr.putRequestTemplates([{ name: 'x', slots: [{ approvalType: 'vibes' }] }]), 'INVALID_INPUT', {
    field: 'approvalType',
  })
  assert.match(err.message, /vibes/)
  err = await rejectsWith(vr.putRequestTemplates([{ name: 'y' }, { name: 'y' }]), 'INVALID_INPUT', { field: 'name' })
  assert.match(err.message, /the template `y` is given twice/)
  await rejectsWith(vr.putRequestTemplates([{ name: 'z', slots: [{ type: 'qa' }] }]), 'INVALID_INPUT', { field: 'templates[0].slots[0].type' })
  await rejectsWith(vr.putRequestTemplates({ name: 'z' }), 'INVALID_INPUT', { field: 'templates' })
  assert.equal((await vr.requestTemplates()).length, 1, 'all or none')
  err = await rejectsWith(vr.actingAs('devi', 'developer').putRequestTemplates([{ name: 'mine' }]), 'FORBIDDEN')
  assert.equal(err.httpStatus, 403)

  await vr.deleteRequestTemplate('Production change')
  err = await rejectsWith(vr.deleteRequestTemplate('Production change'), 'NOT_FOUND')
  assert.match(err.message, /template `Production change` not found/)
  assert.deepEqual(await vr.requestTemplates(), [])
  assert.equal((await vr.request(dr.id)).template, 'Production change', 'requests keep what it filled in')
  const events = (await vr.eventsSince(0, 1000)).map((e) => e.eventType).filter((t) => t.startsWith('dr_template.'))
  // Storing the same template again changes nothing and records nothing.
  assert.deepEqual(events, ['dr_template.changed', 'dr_template.removed'])
})

test('a release tracks versions without approvals and is completed by hand', async () => {
  const vr = fresh()
  await vr.trackBuild({ productName: 'api', version: '2.0.0', status: 'completed' })
  const release = await vr.createRequest({ name: 'Release 2', versions: [{ productName: 'api', version: '2.0.0' }], createdBy: 'rel' })
  assert.deepEqual([release.slots, release.steps, release.environments], [[], [], []])
  const submitted = await vr.submitRequest(release.id, { actor: 'rel', role: 'release_manager' })
  assert.equal(submitted.status, 'approved', 'no required slot: approved at once')

  // Its versions may still change while it runs.
  await vr.trackBuild({ productName: 'api', version: '2.0.1', status: 'completed' })
  const moved = await vr.updateRequest(release.id, { addVersions: [{ productName: 'api', version: '2.0.1' }], actor: 'rel' })
  assert.deepEqual(moved.versions.map((v) => v.version), ['2.0.1'])
  const err = await rejectsWith(vr.updateRequest(release.id, { slots: ['qa'], actor: 'rel' }), 'INVALID_INPUT', { field: 'status' })
  assert.match(err.message, /it can be edited only when draft/)

  const completed = await vr.completeRequest(release.id, { actor: 'rel', role: 'release_manager', comment: 'shipped' })
  assert.equal(completed.status, 'completed')
  assert.deepEqual(completed.history.at(-1).comment, 'shipped')
  assert.equal((await vr.requests({ releasesOnly: true })).length, 1)
  assert.equal((await vr.requests({ releasesOnly: true, status: 'draft' })).length, 0)
})

test('the Client sends every Deployment Request call to the server and converts its answers', async (t) => {
  // versioner-server gains the routes separately; a stand-in answering with the core's own
  // records (versioner-core/tests/vectors/records.json) shows what the Client sends and reads.
  const { records } = JSON.parse(readFileSync(new URL('../../versioner-core/tests/vectors/records.json', import.meta.url), 'utf8'))
  const [drWire] = records.DeploymentRequest
  const seen = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (d) => (body += d))
    req.on('end', () => {
      seen.push([req.method, req.url, body ? JSON.parse(body) : undefined])
      const answer = (status, value) => {
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end(value === undefined ? '' : JSON.stringify(value))
      }
      if (req.url.startsWith('/deployment-request-templates/')) {
        if (req.method === 'DELETE') return answer(204)
        return answer(200, records.RequestTemplate)
      }
      if (req.url.endsWith('/progress')) return answer(200, records.Progress[0])
      if (req.method === 'GET' && req.url.startsWith('/deployment-requests/?')) return answer(200, [drWire])
      return answer(200, drWire)
    })
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  t.after(() => server.close())
  const client = new Client({ apiUrl: `http://127.0.0.1:${server.address().port}`, apiKey: 'k', maxAttempts: 1 })
  const id = drWire.id

  const created = await client.createRequest({
    name: 'Q4 release',
    versions: [{ productName: 'api', version: '1.2.0' }],
    environments: ['production'],
    slots: ['qa'],
    optionalSlots: ['security'],
    preSteps: ['Announce in #deploys'],
    releaseNotes: 'Faster checkout',
  })
  assert.equal(created.id, id)
  assert.equal(created.status, 'approved')
  assert.ok(created.slots[0].decidedAt instanceof Date)
  assert.equal(created.context.metadata.change_ticket, 'CHG-42', 'metadata keys are data')
  await client.updateRequest(id, { name: 'Q4', addVersions: [{ productName: 'web', version: 2 }] })
  await client.submitRequest(id, { comment: 'ready' })
  await client.approveRequest(id, 'qa', { comment: 'green' })
  await client.rejectRequest(id, 'security', { comment: 'no' })
  await client.requestStepDone(id, 'Announce in #deploys')
  await client.deactivateRequest(id)
  await client.cancelRequest(id)
  await client.completeRequest(id)
  assert.equal((await client.request(id)).name, 'Q4 release')
  assert.deepEqual((await client.requests({ status: 'approved', product: 'api', releasesOnly: true })).map((r) => r.id), [id])
  const progress = await client.requestProgress(id)
  assert.equal(progress.cells[0].state, 'deployed')
  assert.equal((await client.requestTemplates())[0].name, 'Production change')
  await client.putRequestTemplates([{ name: 'Production change', slots: [{ approvalType: 'qa' }] }])
  await client.deleteRequestTemplate('Production change')

  const path = `/deployment-requests/${id}`
  assert.deepEqual(seen, [
    [
      'POST',
      '/deployment-requests/',
      {
        name: 'Q4 release',
        context: { release_notes: 'Faster checkout' },
        versions: [{ product_name: 'api', version: '1.2.0' }],
        environments: ['production'],
        slots: [
          { approval_type: 'qa', optional: false },
          { approval_type: 'security', optional: true },
        ],
        pre_steps: ['Announce in #deploys'],
        post_steps: [],
      },
    ],
    ['PATCH', path, { name: 'Q4', add_versions: [{ product_name: 'web', version: '2' }] }],
    ['POST', `${path}/submit`, { comment: 'ready' }],
    ['POST', `${path}/approve`, { approval_type: 'qa', comment: 'green' }],
    ['POST', `${path}/reject`, { approval_type: 'security', comment: 'no' }],
    ['POST', `${path}/steps/done`, { step: 'Announce in #deploys' }],
    ['POST', `${path}/deactivate`, {}],
    ['POST', `${path}/cancel`, {}],
    ['POST', `${path}/complete`, {}],
    ['GET', path, undefined],
    ['GET', '/deployment-requests/?status=approved&product=api&releases_only=true', undefined],
    ['GET', `${path}/progress`, undefined],
    ['GET', '/deployment-request-templates/', undefined],
    ['POST', '/deployment-request-templates/', { templates: [{ name: 'Production change', slots: [{ approval_type: 'qa', optional: false }], pre_steps: [], post_steps: [], environments: [] }] }],
    ['DELETE', '/deployment-request-templates/Production%20change', undefined],
  ])
})
