// Inputs are read by the core (`versioner_core::input`): the same answer as in Python and C.
// The same checks run in versioner-py/tests/test_core_inputs.py and in the C test
// (versioner-ffi/tests/c/test_versioner.c): JSON policy text with no format is JSON, and an
// unknown option key is refused with INVALID_INPUT naming the key.
import assert from 'node:assert/strict'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

import { Client, Versioner, fresh, rejectsWith, tempDir, throwsWith } from './helpers.mjs'

test("applyPolicy('{\"rules\":[]}'): JSON text with no format is JSON", async () => {
  const vr = fresh()
  assert.deepEqual(await vr.applyPolicy('{"rules":[]}'), { added: [], updated: [], unchanged: [], deleted: [] })
  const r = await vr.applyPolicy('{"rules":[{"name":"One","type":"concurrency"}]}')
  assert.deepEqual(r.added, ['One'])
  // A bare array of rules is JSON too; TOML's `[[rules]]` is still TOML.
  assert.deepEqual((await vr.applyPolicy('[]')).deleted, ['One'])
  assert.deepEqual((await vr.applyPolicy("[[rules]]\nname = 'Two'\ntype = 'concurrency'\n")).added, ['Two'])
  // Rules as an array of objects, as Python takes them.
  assert.deepEqual((await vr.applyPolicy([{ name: 'Three', type: 'concurrency', max: 2 }])).added, ['Three'])
})

test('applyPolicy: a one-line name of a policy file is that file, as in Python', async (t) => {
  const vr = fresh()
  const file = join(tempDir(t), 'policy.json')
  writeFileSync(file, JSON.stringify([{ name: 'From file', type: 'concurrency' }]))
  assert.deepEqual((await vr.applyPolicy(file)).added, ['From file'])
  // applyPolicyFile honours `format` for a name that does not say it.
  const other = join(tempDir(t), 'policy.rules')
  writeFileSync(other, '{"rules":[]}')
  assert.deepEqual((await vr.applyPolicyFile(other, { format: 'json' })).deleted, ['From file'])
})

test('an unknown option key is refused with INVALID_INPUT naming it', async (t) => {
  const path = join(tempDir(t), 'v.db')
  const e = throwsWith(() => new Versioner(path, { bogusOption: 1 }), 'INVALID_INPUT', { field: 'bogusOption' })
  assert.match(e.message, /unknown option/)
  assert.equal(existsSync(path), false, 'nothing is opened with a bad option')
  // Options are read before anything is contacted.
  await rejectsWith(Versioner.connect('host=/nowhere dbname=x', { pool: 1 }), 'INVALID_INPUT', { field: 'pool' })
  throwsWith(() => new Client({ apiUrl: 'http://127.0.0.1:1', retries: 3 }), 'INVALID_INPUT', { field: 'retries' })
  // An option of the other kind of store is named as such; options are camelCase.
  const other = throwsWith(() => new Versioner(':memory:', { schema: 'ci' }), 'INVALID_INPUT', { field: 'schema' })
  assert.match(other.message, /PostgreSQL option/)
  throwsWith(() => new Versioner(null, { busy_timeout_ms: 5 }), 'INVALID_INPUT', { field: 'busyTimeoutMs' })
  throwsWith(() => new Versioner(null, { busyTimeoutMs: '30s' }), 'INVALID_INPUT', { field: 'busyTimeoutMs' })
  throwsWith(() => new Versioner(null, 'normal'), 'INVALID_INPUT', { field: 'options' })
})

test('every documented option is accepted; locations are the core\'s', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'v.db')
  const a = new Versioner(path, { synchronous: 'normal', busyTimeoutMs: 250 })
  assert.deepEqual(await a.products(), [])
  a.close()
  const b = new Versioner(`sqlite:${path}`, { synchronous: 'FULL' })
  assert.deepEqual(await b.products(), [])
  b.close()
  assert.equal(existsSync(path), true)
  for (const memory of [undefined, null, ':memory:', 'sqlite::memory:']) {
    assert.deepEqual(await new Versioner(memory).products(), [])
  }
  throwsWith(() => new Versioner('mysql://db/versioner'), 'INVALID_INPUT', { field: 'path' })
  new Client({ apiUrl: 'http://127.0.0.1:1', apiKey: 'k', timeoutMs: 1000, maxAttempts: 1, backoffMs: 0, maxWaitMs: 10, userAgent: 'node-test' }).close()
})
