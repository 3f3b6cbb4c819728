// The package loads from CommonJS and ESM alike, with the same exports and types.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { test } from 'node:test'

import * as esm from '@versioner/node'
import { Client, Versioner, detectCi } from '@versioner/node'

const require = createRequire(import.meta.url)

test('CommonJS require and ESM import give the same classes', () => {
  const cjs = require('@versioner/node')
  assert.equal(cjs.Versioner, Versioner)
  assert.equal(cjs.Client, Client)
  assert.equal(cjs.detectCi, detectCi)
  assert.equal(esm.Versioner, Versioner)
  assert.equal(typeof Versioner, 'function')
  assert.equal(typeof new Versioner().trackDeployment, 'function')
})

test('every documented method exists on both classes', () => {
  const shared = [
    'trackBuild', 'trackDeployment', 'check', 'deployment', 'rules', 'rule', 'addRule', 'updateRule',
    'deleteRule', 'ruleHistory', 'setRuleStatus', 'applyPolicy', 'applyPolicyFile', 'approve',
    'revokeApproval', 'approvals', 'versions', 'version', 'versionById', 'versionsBySha', 'history',
    'state', 'drift', 'products', 'environments', 'setEnvironmentType', 'close',
    'createRequest', 'updateRequest', 'submitRequest', 'approveRequest', 'rejectRequest', 'requestStepDone',
    'deactivateRequest', 'cancelRequest', 'completeRequest', 'request', 'requests', 'requestProgress',
    'requestTemplates', 'putRequestTemplates', 'deleteRequestTemplate',
  ]
  for (const m of shared) assert.equal(typeof Versioner.prototype[m], 'function', `Versioner.${m}`)
  for (const m of [...shared, 'health']) assert.equal(typeof Client.prototype[m], 'function', `Client.${m}`)
  assert.equal(typeof Versioner.connect, 'function', 'Versioner.connect')
})

test('close(): later calls reject with INVALID_INPUT, calls in flight finish', async () => {
  const vr = new Versioner()
  assert.equal(vr.closed, false)
  const inFlight = vr.trackDeployment({ productName: 'api', version: '1', environmentName: 'dev', status: 'completed' })
  vr.close()
  assert.equal(vr.closed, true)
  assert.equal((await inFlight).status, 'completed')
  for (const call of [() => vr.products(), () => vr.ruleHistory(), () => vr.deployment('x'), () => vr.deploying({ productName: 'a', version: '1', environmentName: 'b' }, () => {})]) {
    let caught
    try {
      await call()
    } catch (e) {
      caught = e
    }
    assert.equal(caught?.code, 'INVALID_INPUT')
    assert.equal(caught.field, 'this')
    assert.match(caught.message, /closed/)
  }
  vr.close()
  const client = new Client({ apiUrl: 'http://127.0.0.1:1' })
  client.close()
  await assert.rejects(client.health(), (e) => e.code === 'INVALID_INPUT' && e.field === 'this')
})

test('the TypeScript definitions declare the surface', () => {
  const dts = readFileSync(new URL('../index.d.ts', import.meta.url), 'utf8')
  for (const decl of [
    'export declare class Versioner',
    'export declare class Client',
    'export declare function detectCi',
    'export interface DeploymentOptions',
    'export interface VersionerError',
    "export type ErrorCode = 'INVALID_INPUT'",
    'deployment<T = Deployment>(idOrOptions: string | Omit<DeploymentOptions, \'status\'>',
    'retryAfter?: Date | null',
  ]) {
    assert.ok(dts.includes(decl), `index.d.ts lacks: ${decl}`)
  }
  assert.ok(!dts.includes('__panic'), 'test hooks stay out of the definitions')
})
