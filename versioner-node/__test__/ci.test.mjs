// detectCi(env?): CI systems from environment variables.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { detectCi, throwsWith } from './helpers.mjs'

test('GitHub Actions from a map', () => {
  const info = detectCi({
    GITHUB_ACTIONS: 'true',
    GITHUB_REPOSITORY: 'acme/api',
    GITHUB_SHA: 'abc1234',
    GITHUB_REF_NAME: 'main',
    GITHUB_RUN_NUMBER: '17',
    GITHUB_RUN_ID: '99',
    GITHUB_ACTOR: 'dana',
    GITHUB_SERVER_URL: 'https://github.com',
    UNRELATED: undefined,
  })
  assert.equal(info.system, 'github')
  assert.equal(info.sourceSystem, 'github')
  assert.equal(info.scmRepository, 'acme/api')
  assert.equal(info.scmSha, 'abc1234')
  assert.equal(info.scmBranch, 'main')
  assert.equal(info.buildNumber, '17')
  assert.equal(info.user, 'dana')
  assert.equal(typeof info.metadata, 'object')
})

test('GitLab, and nothing at all', () => {
  assert.equal(detectCi({ GITLAB_CI: 'true', CI_COMMIT_SHA: 'def5678' }).system, 'gitlab')
  const none = detectCi({})
  assert.equal(none.system, undefined)
  assert.equal(none.sourceSystem, 'unknown')
  assert.deepEqual(none.metadata, {})
})

test('the process environment by default', () => {
  const saved = process.env.JENKINS_URL
  process.env.JENKINS_URL = 'https://jenkins.example.com/'
  try {
    assert.equal(detectCi().system ?? 'none', detectCi(process.env).system ?? 'none')
  } finally {
    if (saved === undefined) delete process.env.JENKINS_URL
    else process.env.JENKINS_URL = saved
  }
})

test('bad input throws INVALID_INPUT', () => {
  throwsWith(() => detectCi('GITHUB_ACTIONS=true'), 'INVALID_INPUT', { field: 'env' })
  throwsWith(() => detectCi({ GITHUB_ACTIONS: true }), 'INVALID_INPUT', { field: 'env.GITHUB_ACTIONS' })
})
