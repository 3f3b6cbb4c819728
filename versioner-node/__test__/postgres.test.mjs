// `Versioner.connect(url)`: the in-process core on PostgreSQL.
//
// Runs when $VERSIONER_TEST_DATABASE_URL names a database (scripts/test-postgres.sh starts a
// throwaway cluster and sets it, with $VERSIONER_REQUIRE_POSTGRES=1 so that these tests cannot
// be skipped there). Each test keeps its tables in a schema of its own.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { Versioner, dep, rejectsWith } from './helpers.mjs'

const url = process.env.VERSIONER_TEST_DATABASE_URL || ''
if (!url && process.env.VERSIONER_REQUIRE_POSTGRES === '1') {
  throw new Error('VERSIONER_REQUIRE_POSTGRES=1 but VERSIONER_TEST_DATABASE_URL is not set')
}

const schema = () => `node_${process.pid}_${process.hrtime.bigint()}`

test('connect refuses bad input before connecting', async () => {
  await rejectsWith(Versioner.connect("host='unterminated"), 'INVALID_INPUT', { field: 'databaseUrl' })
  await rejectsWith(Versioner.connect('host=/nowhere dbname=x', { schema: 'no-dashes' }), 'INVALID_INPUT', { field: 'schema' })
  await rejectsWith(Versioner.connect('host=/nowhere dbname=x', { maxConnections: 0 }), 'INVALID_INPUT', { field: 'maxConnections' })
  await rejectsWith(Versioner.connect('host=/nowhere dbname=x', { pool: 1 }), 'INVALID_INPUT', { field: 'pool' })
  await rejectsWith(Versioner.connect(42), 'INVALID_INPUT', { field: 'url' })
})

describe('on PostgreSQL', { skip: url ? false : 'VERSIONER_TEST_DATABASE_URL is not set' }, () => {
  test('the journey, and a second instance sees the same records', async () => {
    const name = schema()
    const vr = await Versioner.connect(url, { schema: name, maxConnections: 4 })
    assert.ok(vr instanceof Versioner)
    await vr.applyPolicy({ rules: [{ name: 'Staging first', type: 'flow', environments: ['production'], prerequisites: ['staging'] }] })
    await rejectsWith(vr.trackDeployment(dep({ environmentName: 'production' })), 'FLOW_VIOLATION', { httpStatus: 428 })
    await vr.trackDeployment(dep({ status: 'completed' }))
    assert.equal(await vr.deploying({ productName: 'api', version: '1.0.0', environmentName: 'production' }, async (d) => d.status), 'started')
    assert.equal((await vr.setEnvironmentType('lab', 'test')).typeOverridden, true)
    vr.close()

    const other = await Versioner.connect(url, { schema: name })
    const h = await other.history({ productName: 'api' })
    assert.deepEqual(h.map((d) => [d.environmentName, d.status]), [['production', 'completed'], ['staging', 'completed']])
    assert.equal((await other.state()).cells.length, 2)
    other.close()
  })

  test('one at a time holds across instances', async () => {
    const name = schema()
    const [a, b] = await Promise.all([Versioner.connect(url, { schema: name }), Versioner.connect(url, { schema: name })])
    await a.addRule({ name: 'Serial', type: 'concurrency', max: 1 })
    const outcomes = await Promise.allSettled(
      Array.from({ length: 16 }, (_, i) => (i % 2 ? a : b).trackDeployment(dep({ version: `${i}`, environmentName: 'prod' }))),
    )
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1)
    assert.ok(outcomes.filter((o) => o.status === 'rejected').every((o) => o.reason.code === 'CONCURRENT_DEPLOYMENT'))
    a.close()
    b.close()
  })
})
