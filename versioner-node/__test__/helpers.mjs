// Shared fixtures for the suite (not a test file: `node --test` only runs *.test.mjs).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import * as versioner from '@versioner/node'

export const { Versioner, Client, detectCi } = versioner

/** A fresh in-memory Versioner. */
export function fresh() {
  return new Versioner()
}

/** A temporary directory, removed when the test ends. */
export function tempDir(t) {
  const dir = mkdtempSync(join(tmpdir(), 'versioner-node-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A deployment event with defaults. */
export function dep(overrides = {}) {
  return { productName: 'api', version: '1.0.0', environmentName: 'staging', status: 'started', ...overrides }
}

/** Awaits `promise`, expects it to reject with a Versioner error of `code`, returns the error. */
export async function rejectsWith(promise, code, extra = {}) {
  let caught
  try {
    await promise
  } catch (e) {
    caught = e
  }
  assert.ok(caught, `expected a rejection with ${code}, got a resolution`)
  assert.ok(caught instanceof Error, `expected an Error instance, got ${caught}`)
  assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.message}`)
  assert.equal(typeof caught.httpStatus, 'number')
  assert.equal(typeof caught.message, 'string')
  assert.ok(caught.message.length > 0)
  for (const [k, v] of Object.entries(extra)) {
    assert.deepEqual(caught[k], v, `error.${k}`)
  }
  return caught
}

/** Calls `fn`, expects it to throw synchronously with `code`, returns the error. */
export function throwsWith(fn, code, extra = {}) {
  let caught
  try {
    fn()
  } catch (e) {
    caught = e
  }
  assert.ok(caught, `expected a throw with ${code}`)
  assert.ok(caught instanceof Error)
  assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.message}`)
  for (const [k, v] of Object.entries(extra)) {
    assert.deepEqual(caught[k], v, `error.${k}`)
  }
  return caught
}

export const HOUR = 3600 * 1000
