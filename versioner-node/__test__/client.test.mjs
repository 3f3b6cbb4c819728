// The remote Client against a real `versioner serve`: same methods, records and errors, plus
// UNAUTHORIZED, FORBIDDEN and NETWORK.
//
// The server binary is $VERSIONER_BIN, else target/debug/versioner (`cargo build -p
// versioner-cli`). Without it these tests are skipped, unless $VERSIONER_REQUIRE_SERVER=1
// (scripts/test-node.sh sets it), which makes a missing binary a failure.
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { Client, dep, rejectsWith, throwsWith } from './helpers.mjs'

const bin = process.env.VERSIONER_BIN || fileURLToPath(new URL('../../target/debug/versioner', import.meta.url))
const available = existsSync(bin)
if (!available && process.env.VERSIONER_REQUIRE_SERVER === '1') {
  throw new Error(`the server binary ${bin} is missing: run \`cargo build -p versioner-cli\``)
}

/** Creates an API key with `versioner keys create` and returns it (the last output line). */
function createKey(db, name, role) {
  const out = execFileSync(bin, ['keys', 'create', '--db', db, '--name', name, '--role', role], { encoding: 'utf8' })
  return out.trim().split('\n').at(-1)
}

/** Starts `versioner serve` on a free port; resolves to its base URL. */
function serve(db, child) {
  return new Promise((resolve, reject) => {
    const proc = spawn(bin, ['serve', '--db', db, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] })
    child.proc = proc
    let stderr = ''
    proc.stderr.on('data', (d) => {
      stderr += d
    })
    proc.on('exit', (code) => reject(new Error(`versioner serve exited with ${code}: ${stderr}`)))
    createInterface({ input: proc.stdout }).once('line', (line) => {
      const m = /listening on (http:\/\/\S+)/.exec(line)
      if (m) resolve(m[1])
      else reject(new Error(`unexpected first line from versioner serve: ${line}`))
    })
  })
}

/** A port nothing listens on. */
async function closedPort() {
  const srv = createServer()
  await new Promise((r) => srv.listen(0, '127.0.0.1', r))
  const { port } = srv.address()
  await new Promise((r) => srv.close(r))
  return port
}

describe('Client against versioner serve', { skip: available ? false : `no server binary at ${bin}` }, () => {
  const child = {}
  let dir
  let url
  let admin
  let viewer

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'versioner-node-client-'))
    const db = join(dir, 'server.db')
    admin = createKey(db, 'admin', 'admin')
    viewer = createKey(db, 'viewer', 'viewer')
    url = await serve(db, child)
  })

  after(() => {
    child.proc?.removeAllListeners('exit')
    child.proc?.kill()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  const client = (extra = {}) => new Client({ apiUrl: url, apiKey: admin, maxAttempts: 1, ...extra })

  test('construction: options are checked, nothing is sent', () => {
    assert.equal(client().apiUrl, `${url}/`)
    throwsWith(() => new Client({ apiUrl: 'not a url' }), 'INVALID_INPUT', { field: 'apiUrl' })
    throwsWith(() => new Client({ apiUrl: 'ftp://example.com' }), 'INVALID_INPUT', { field: 'apiUrl' })
    assert.equal(new Client({ apiUrl: 'https://example.com' }).apiUrl, 'https://example.com/')
    throwsWith(() => new Client({ apiUrl: 'https://example.com', caCert: '/nonexistent/ca.pem' }), 'INVALID_INPUT', { field: 'caCert' })
    throwsWith(() => new Client({ apiUrl: url, maxAttempts: 0 }), 'INVALID_INPUT', { field: 'maxAttempts' })
    throwsWith(() => new Client({ apiUrl: url, timeout: 5 }), 'INVALID_INPUT', { field: 'timeout' })
    throwsWith(() => new Client(url), 'INVALID_INPUT', { field: 'options' })
    new Client({ apiUrl: url, apiKey: admin, timeoutMs: 5000, maxAttempts: 2, backoffMs: 10, maxWaitMs: 100, userAgent: 'test/1' })
  })

  test('health', async () => {
    const h = await client().health()
    assert.equal(h.status, 'ok')
    assert.equal(typeof h.version, 'string')
  })

  test('tracking and queries return the same records as in process', async () => {
    const c = client()
    const b = await c.trackBuild({ productName: 'web', version: 3, status: 'success', scmSha: 'abcdef12', builtBy: 'bob' })
    assert.equal(b.status, 'completed')
    assert.equal(b.version, '3')
    assert.ok(b.createdAt instanceof Date)
    const d = await c.trackDeployment(dep({ productName: 'web', version: '3', status: 'started', deployedBy: 'dana' }))
    assert.equal(d.status, 'started')
    assert.equal(d.preflight.verdict.decision, 'allowed')
    const done = await c.trackDeployment(dep({ productName: 'web', version: '3', status: 'completed' }))
    assert.equal(done.id, d.id)
    assert.equal((await c.deployment(d.id)).status, 'completed')

    const [v] = await c.versions('web')
    assert.equal(v.scmSha, 'abcdef12')
    assert.equal((await c.versionById(v.id)).version, '3')
    assert.deepEqual((await c.versionsBySha('abcdef')).map((x) => x.id), [v.id])
    assert.ok((await c.products()).some((p) => p.name === 'web'))
    assert.ok((await c.environments()).some((e) => e.name === 'staging' && e.type === 'staging'))
    const h = await c.history({ productName: 'web' })
    assert.deepEqual(h.map((x) => x.status), ['completed'])
    const s = await c.state()
    assert.equal(s.cells.find((x) => x.productName === 'web').current.version, '3')
    assert.equal((await c.state({ at: new Date(0) })).cells.length, 0)
    await c.trackDeployment(dep({ productName: 'web', version: '2', environmentName: 'production', status: 'completed' }))
    const drift = await c.drift()
    assert.deepEqual(drift.find((x) => x.productName === 'web').versions, { staging: '3', production: '2' })
  })

  test('rules, approvals and every property of a rejection over HTTP', async () => {
    const c = client()
    const report = await c.applyPolicy({
      rules: [
        { name: 'Staging first', type: 'flow', products: ['svc'], environments: ['production'], prerequisites: ['staging'] },
        { name: 'QA', type: 'version_approval', products: ['svc'], environments: ['production'], approvalTypes: ['qa'] },
      ],
    })
    assert.deepEqual(report.added, ['Staging first', 'QA'])
    assert.deepEqual((await c.rules()).map((r) => r.name), ['Staging first', 'QA'])
    const merged = await c.applyPolicy('[[rules]]\nname = "QA"\ntype = "version_approval"\nproducts = ["svc"]\nenvironments = ["production"]\napproval_types = ["qa", "security"]\n', { mode: 'merge' })
    assert.deepEqual(merged.updated, ['QA'])

    await c.trackBuild({ productName: 'svc', version: '1', status: 'completed' })
    const err = await rejectsWith(c.trackDeployment(dep({ productName: 'svc', version: '1', environmentName: 'production' })), 'FLOW_VIOLATION')
    assert.equal(err.httpStatus, 428)
    assert.equal(err.ruleName, 'Staging first')
    assert.equal(err.retryAfter, null)
    assert.deepEqual(err.violations.map((v) => v.code), ['FLOW_VIOLATION', 'QUALITY_APPROVAL_REQUIRED'])
    assert.equal(err.verdict.outcomes.length, 2)

    const verdict = await c.check({ productName: 'svc', version: '1', environmentName: 'production' })
    assert.equal(verdict.decision, 'blocked')
    // Through the server the actor is the key's principal: naming another is refused.
    await rejectsWith(c.setRuleStatus('Staging first', { status: 'report_only', actor: 'dana', reason: 'migration' }), 'INVALID_INPUT', { field: 'actor' })
    const rule = await c.setRuleStatus('Staging first', { status: 'report_only', reason: 'migration' })
    assert.equal(rule.status, 'report_only')
    assert.equal((await c.ruleHistory('Staging first')).at(-1).actor, 'admin')

    await rejectsWith(c.approve({ productName: 'svc', version: '1', approvalType: 'qa', approver: 'quinn' }), 'INVALID_INPUT', { field: 'approver' })
    const qa = await c.approve({ productName: 'svc', version: '1', approvalType: 'qa' })
    assert.deepEqual([qa.approver, qa.approverRole], ['admin', 'admin'])
    await c.approve({ productName: 'svc', version: '1', approvalType: 'security' })
    const ok = await c.trackDeployment(dep({ productName: 'svc', version: '1', environmentName: 'production' }))
    assert.equal(ok.preflight.verdict.outcomes.find((o) => o.ruleName === 'Staging first').status, 'failed_report_only')
    const revoked = await c.revokeApproval(qa.id, { reason: 'redo' })
    assert.equal(revoked.revokedBy, 'admin')
    assert.ok(revoked.revokedAt instanceof Date)
    assert.equal((await c.approvals('svc', '1')).length, 2)

    // Both decisions are recorded: the refusal (blocked) and the report-only pass (reported).
    const decisions = await c.violations({ productName: 'svc' })
    assert.deepEqual(decisions.map((d) => d.outcome), ['reported', 'blocked'])
    const [, blocked] = decisions
    assert.equal(blocked.verdict.code, 'FLOW_VIOLATION')
    assert.equal(blocked.actor, 'admin')
    assert.equal(blocked.facts.principal, 'admin')
    assert.deepEqual((await c.violations({ productName: 'svc', outcome: 'blocked', rule: 'QA', limit: 1 })).map((d) => d.id), [blocked.id])
    await rejectsWith(c.violations({ outcome: 'exploded' }), 'INVALID_INPUT', { field: 'outcome' })
    await rejectsWith(c.violations({ since: 'yesterday' }), 'INVALID_INPUT', { field: 'since' })
    await rejectsWith(c.violations({ product: 'svc' }), 'INVALID_INPUT', { field: 'product' })
    // Replay, the audit chain and the event stream are in process only.
    assert.equal(c.replay, undefined)
    assert.equal(c.eventsSince, undefined)

    const file = join(dir, 'policy.toml')
    // An empty file would delete every rule by omission: refused; `rules = []` says it.
    writeFileSync(file, '')
    await rejectsWith(c.applyPolicyFile(file), 'INVALID_INPUT', { field: 'rules' })
    writeFileSync(file, 'rules = []\n')
    assert.deepEqual((await c.applyPolicyFile(file)).deleted, ['Staging first', 'QA'])
  })

  test('the deployment helper over HTTP: success, failure, block', async () => {
    const c = client()
    const o = { productName: 'helper', version: '1', environmentName: 'staging' }
    assert.equal(await c.deploying(o, async (d) => d.status), 'started')
    const boom = new Error('boom')
    await assert.rejects(c.deploying({ ...o, version: '2' }, async () => { throw boom }), (e) => e === boom)
    assert.deepEqual((await c.history({ productName: 'helper' })).map((d) => [d.version, d.status]), [['2', 'failed'], ['1', 'completed']])
    await c.applyPolicy({ rules: [{ name: 'Freeze', type: 'schedule', products: ['helper'], timezone: 'UTC', windows: [{ recurrence: 'once', start: '2000-01-01T00:00', end: '2100-01-01T00:00' }] }] })
    let called = false
    const err = await rejectsWith(c.deploying({ ...o, version: '3' }, () => { called = true }), 'NO_DEPLOY_WINDOW')
    assert.equal(called, false)
    assert.equal(err.httpStatus, 423)
    assert.equal(err.retryAfter.toISOString(), '2100-01-01T00:00:00.000Z')
    await c.applyPolicy({ rules: [] })
  })

  test('errors keep their codes over HTTP', async () => {
    const c = client()
    await rejectsWith(c.trackDeployment(dep({ status: 'succeeded' })), 'INVALID_INPUT', { field: 'status', httpStatus: 422 })
    await rejectsWith(c.trackDeployment(dep({ enviromentName: 'x' })), 'INVALID_INPUT', { field: 'enviromentName' })
    await c.trackBuild({ productName: 'imm', version: '1', status: 'completed', scmSha: 'aaaa1111' })
    await rejectsWith(c.trackBuild({ productName: 'imm', version: '1', status: 'completed', scmSha: 'bbbb2222' }), 'VERSION_CONFLICT', { httpStatus: 409 })
    await rejectsWith(c.deployment('nope'), 'NOT_FOUND', { httpStatus: 404 })
    await rejectsWith(c.versions('nope'), 'NOT_FOUND')
    await rejectsWith(new Client({ apiUrl: url }).products(), 'UNAUTHORIZED', { httpStatus: 401 })
    await rejectsWith(new Client({ apiUrl: url, apiKey: 'sk_vr_wrong' }).products(), 'UNAUTHORIZED')
    const v = new Client({ apiUrl: url, apiKey: viewer })
    assert.ok(Array.isArray(await v.products()), 'a viewer may read')
    await rejectsWith(v.trackDeployment(dep()), 'FORBIDDEN', { httpStatus: 403 })
    const port = await closedPort()
    await rejectsWith(new Client({ apiUrl: `http://127.0.0.1:${port}`, maxAttempts: 2, backoffMs: 1 }).health(), 'NETWORK')
  })

  test('rules one by one, rule history, versions by name and environment types, as in process', async () => {
    const c = client()
    const added = await c.addRule({ name: 'Serial', type: 'concurrency', max: 1, products: ['shared'] })
    assert.equal(added.name, 'Serial')
    assert.equal((await c.rule('Serial')).type, 'concurrency')
    await rejectsWith(c.addRule({ name: 'Serial', type: 'concurrency', max: 1 }), 'INVALID_INPUT', { field: 'name' })
    const invalid = await rejectsWith(c.addRule({ name: 'x', type: 'flow' }), 'INVALID_INPUT')
    assert.deepEqual(invalid.problems.map((p) => p.field), ['prerequisites'])
    const updated = await c.updateRule('Serial', { name: 'Serial 2', type: 'concurrency', max: 1, status: 'disabled' })
    assert.deepEqual([updated.name, updated.status], ['Serial 2', 'disabled'])
    await rejectsWith(c.rule('Serial'), 'NOT_FOUND')
    const history = await c.ruleHistory('Serial 2')
    assert.deepEqual(history.map((h) => [h.fromStatus, h.toStatus]), [['enabled', 'disabled']])
    assert.ok(history[0].changedAt instanceof Date)
    assert.ok((await c.ruleHistory()).some((h) => h.ruleName === 'Serial 2'))
    assert.deepEqual(await c.ruleHistory('nope'), [])
    await c.deleteRule('Serial 2')
    await rejectsWith(c.deleteRule('Serial 2'), 'NOT_FOUND', { httpStatus: 404 })
    assert.equal((await c.ruleHistory('Serial 2')).length, 1, 'the history outlives the rule')

    await c.trackBuild({ productName: 'shared', version: 7, status: 'completed', scmSha: 'feed1234' })
    const v = await c.version('shared', '7')
    assert.deepEqual([v.version, v.scmSha], ['7', 'feed1234'])
    await rejectsWith(c.version('shared', '8'), 'NOT_FOUND')

    let e = await c.setEnvironmentType('qa-shared', 'staging')
    assert.deepEqual([e.type, e.typeOverridden], ['staging', true])
    e = await c.setEnvironmentType('qa-shared', null)
    assert.deepEqual([e.type, e.typeOverridden], ['test', false])
    await rejectsWith(c.setEnvironmentType('qa-shared', 'moon'), 'INVALID_INPUT', { field: 'type' })

    const v2 = new Client({ apiUrl: url, apiKey: viewer, maxAttempts: 1 })
    assert.deepEqual(await v2.ruleHistory('nope'), [])
    await rejectsWith(v2.addRule({ name: 'x', type: 'concurrency', max: 1 }), 'FORBIDDEN', { httpStatus: 403 })
    await rejectsWith(v2.deleteRule('x'), 'FORBIDDEN')
    await rejectsWith(v2.setEnvironmentType('qa-shared', 'dev'), 'FORBIDDEN')
  })

  test('Deployment Requests over HTTP: the key acts, blocks keep their codes', async () => {
    const c = client()
    await c.applyPolicy({ rules: [{ name: 'DR for drsvc', type: 'deployment_request_required', products: ['drsvc'], environments: ['production'] }] }, { mode: 'merge' })
    await c.trackBuild({ productName: 'drsvc', version: '1', status: 'completed' })
    const started = { productName: 'drsvc', version: '1', environmentName: 'production', status: 'started' }
    const required = await rejectsWith(c.trackDeployment(started), 'DEPLOYMENT_REQUEST_REQUIRED')
    assert.equal(required.httpStatus, 428)
    const dr = await c.createRequest({ name: 'drsvc change', versions: [{ productName: 'drsvc', version: '1' }], environments: ['production'], slots: ['qa'] })
    assert.equal(dr.status, 'draft')
    assert.equal(dr.createdBy, 'admin')
    await rejectsWith(c.submitRequest(dr.id, { actor: 'mallory' }), 'INVALID_INPUT', { field: 'actor' })
    assert.equal((await c.submitRequest(dr.id)).status, 'in_progress')
    await rejectsWith(c.trackDeployment(started), 'DEPLOYMENT_REQUEST_PENDING')
    const own = await rejectsWith(c.approveRequest(dr.id, 'qa'), 'FORBIDDEN')
    assert.match(own.message, /self-approval is off/)
    assert.equal((await c.request(dr.id)).slots[0].status, 'pending')
    assert.equal((await c.requestProgress(dr.id)).cells[0].state, 'not_deployed')
    assert.deepEqual((await c.requests({ status: 'in_progress', product: 'drsvc' })).map((r) => r.id), [dr.id])
    assert.equal((await c.cancelRequest(dr.id, { comment: 'superseded' })).status, 'cancelled')
  })

  test('concurrent calls through one client', async () => {
    const c = client()
    const all = await Promise.all(
      Array.from({ length: 16 }, (_, i) => c.trackDeployment(dep({ productName: 'many', version: `${i}`, environmentName: `e${i % 4}`, status: 'completed' }))),
    )
    assert.equal(new Set(all.map((d) => d.id)).size, 16)
    assert.equal((await c.history({ productName: 'many', limit: 100 })).length, 16)
  })
})
