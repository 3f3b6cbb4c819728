// The error model: codes, properties, bad input of every kind, storage failures, panics.
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { test } from 'node:test'

import { Versioner, dep, fresh, rejectsWith, tempDir, throwsWith } from './helpers.mjs'

const native = createRequire(import.meta.url)('../index.js')

test('INVALID_INPUT names the option, camelCase, with HTTP 422', async () => {
  const vr = fresh()
  const missing = await rejectsWith(vr.trackDeployment({ version: '1', environmentName: 'x', status: 'started' }), 'INVALID_INPUT')
  assert.equal(missing.field, 'productName')
  assert.equal(missing.httpStatus, 422)
  assert.match(missing.message, /required/)

  const cases = [
    [dep({ status: 'succeeded' }), 'status', /unknown status `succeeded`; expected one of: pending, started, completed, failed, aborted/],
    [dep({ status: '' }), 'status', /required/],
    [dep({ version: '  ' }), 'version', /blank|required/],
    [dep({ productName: 'x'.repeat(256) }), 'productName', /limit is 255/],
    [dep({ scmSha: 'HEAD' }), 'scmSha', /not a commit SHA/],
    [dep({ completedAt: 'yesterday' }), 'completedAt', /RFC 3339/],
    [dep({ completedAt: new Date(NaN) }), 'completedAt', /invalid Date/],
    [dep({ extraMetadata: [1, 2] }), 'extraMetadata', /must be a JSON object/],
    [dep({ extraMetadata: { blob: 'x'.repeat(102_400) } }), 'extraMetadata', /100 KB/],
    [dep({ productName: 42n }), 'productName', /BigInt/],
    [dep({ productName: ['api'] }), 'productName', /string/],
    [dep({ version: { major: 1 } }), 'version', /string or a number/],
    [dep({ skipPreflightChecks: 'yes' }), 'skipPreflightChecks', /boolean/],
    [dep({ deployedBy: () => 'me' }), 'deployedBy', /function/],
    [dep({ enviromentName: 'typo' }), 'enviromentName', /unknown field `enviromentName`, expected one of/],
  ]
  for (const [options, field, message] of cases) {
    const err = await rejectsWith(vr.trackDeployment(options), 'INVALID_INPUT')
    assert.equal(err.field, field, `${JSON.stringify(options, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))}: ${err.message}`)
    assert.match(err.message, message)
  }
  assert.deepEqual(await vr.history(), [], 'nothing was written')
})

test('wrong argument types reject the promise, never throw synchronously or crash', async () => {
  const vr = fresh()
  const calls = [
    ['trackBuild', [undefined], 'options'],
    ['trackBuild', ['api'], 'options'],
    ['trackDeployment', [null], 'options'],
    ['trackDeployment', [[dep()]], 'options'],
    ['check', [42], 'options'],
    ['rule', [42], 'name'],
    ['rule', [], 'name'],
    ['addRule', [null], 'rule'],
    ['updateRule', ['x', 'y'], 'rule'],
    ['deleteRule', [{}], 'name'],
    ['setRuleStatus', ['x', null], 'options'],
    ['ruleHistory', [7], 'name'],
    ['applyPolicy', [null], 'policy'],
    ['applyPolicy', ['', 'merge'], 'options'],
    ['applyPolicyFile', [null], 'path'],
    ['approve', [true], 'options'],
    ['revokeApproval', [1, { actor: 'a', reason: 'b' }], 'id'],
    ['approvals', ['api'], 'version'],
    ['versions', [undefined], 'productName'],
    ['versions', ['api', { limit: -1 }], 'limit'],
    ['versions', ['api', { limit: 1.5 }], 'limit'],
    ['version', ['api', 1], 'version'],
    ['versionById', [Symbol('x')], 'id'],
    ['versionsBySha', ['HEAD'], 'scmSha'],
    ['history', ['api'], 'options'],
    ['history', [{ since: 'soon' }], 'since'],
    ['history', [{ status: 'nope' }], 'status'],
    ['history', [{ limit: 5000 }], 'limit'],
    ['history', [{ version: '1' }], 'version'],
    ['state', [{ at: 'noon' }], 'at'],
    ['state', [{ when: new Date() }], 'when'],
    ['drift', [{ environments: 'prod' }], 'environments'],
    ['setEnvironmentType', ['', 'dev'], 'environmentName'],
    ['setEnvironmentType', ['x', 7], 'type'],
    ['deployment', [42], 'callback'],
    ['deployment', ['id', () => {}], 'callback'],
    ['deployment', [dep({ status: undefined }), 'not a function'], 'callback'],
  ]
  for (const [method, args, field] of calls) {
    let p
    assert.doesNotThrow(() => {
      p = vr[method](...args)
    }, `${method} threw synchronously`)
    assert.ok(p instanceof Promise, `${method} returns a promise`)
    const err = await rejectsWith(p, 'INVALID_INPUT')
    assert.equal(err.field, field, `${method}(${args.map(String).join(', ')}): ${err.message}`)
  }
})

test('VERSION_CONFLICT (409): a version is immutable', async () => {
  const vr = fresh()
  await vr.trackBuild({ productName: 'api', version: '1', status: 'completed', scmSha: 'abcdef1' })
  await vr.trackDeployment(dep({ version: '1', scmSha: 'abcdef1234', status: 'completed' }))
  const err = await rejectsWith(vr.trackDeployment(dep({ version: '1', scmSha: 'fedcba9' })), 'VERSION_CONFLICT')
  assert.equal(err.httpStatus, 409)
  assert.match(err.message, /immutable/)
  assert.equal(err.verdict, undefined, 'not a policy rejection')
  assert.equal(err.field, undefined)
})

test('NOT_FOUND (404)', async () => {
  const vr = fresh()
  const lookups = [() => vr.deployment('nope'), () => vr.versionById('nope'), () => vr.version('api', '1'), () => vr.rule('x'), () => vr.versions('api')]
  for (const lookup of lookups) {
    const err = await rejectsWith(lookup(), 'NOT_FOUND')
    assert.equal(err.httpStatus, 404)
    assert.match(err.message, /not found/)
  }
})

test('STORAGE (503): a file that cannot be a database', (t) => {
  const dir = tempDir(t)
  const notADb = join(dir, 'junk.db')
  writeFileSync(notADb, 'this is not a database, just text '.repeat(100))
  const a = throwsWith(() => new Versioner(notADb), 'STORAGE')
  assert.equal(a.httpStatus, 503)
  const folder = join(dir, 'folder')
  mkdirSync(folder)
  throwsWith(() => new Versioner(folder), 'STORAGE')
  throwsWith(() => new Versioner(join(dir, 'missing', 'dir', 'x.db')), 'STORAGE')
  throwsWith(() => new Versioner(42), 'INVALID_INPUT', { field: 'path' })
})

test('the error codes are the stable ones', async () => {
  const codes = new Set()
  const vr = fresh()
  const collect = async (p) => {
    try {
      await p
    } catch (e) {
      codes.add(e.code)
    }
  }
  await vr.addRule({ name: 'Flow', type: 'flow', environments: ['production'], prerequisites: ['staging'] })
  await collect(vr.trackDeployment(dep({ environmentName: 'production' })))
  await collect(vr.trackDeployment(dep({ status: 'nope' })))
  await collect(vr.rule('nope'))
  await collect(native.__panicInTaskForTests())
  assert.deepEqual([...codes].sort(), ['FLOW_VIOLATION', 'INTERNAL', 'INVALID_INPUT', 'NOT_FOUND'])
})

test('a Rust panic never kills the process', async () => {
  const inTask = await rejectsWith(native.__panicInTaskForTests(), 'INTERNAL')
  assert.match(inTask.message, /panicked \(deliberate panic for tests \(in a task\)\)/)
  assert.equal(inTask.httpStatus, 500)
  const guarded = throwsWith(() => native.__panicForTests(), 'INTERNAL')
  assert.match(guarded.message, /guarded/)
  assert.throws(() => native.__panicUnguardedForTests(), (e) => e instanceof Error && /unguarded/.test(e.message))
  // Still alive and working.
  const vr = fresh()
  assert.equal((await vr.trackDeployment(dep({ status: 'completed' }))).status, 'completed')
})
