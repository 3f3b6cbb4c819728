// Notification delivery from Node: deliverPending sends a policy-declared channel's webhook,
// signed as the reference's protocol says, to a local receiver, off the event loop.
import assert from 'node:assert/strict'
import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer } from 'node:http'
import { test } from 'node:test'

import { dep, fresh } from './helpers.mjs'

test('deliverPending sends a signed webhook and reports what it did', async () => {
  const got = []
  const server = createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks) })
      res.end()
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    const url = `http://127.0.0.1:${server.address().port}/hook`
    const vr = fresh()
    const empty = await vr.deliverPending()
    assert.deepEqual(empty, { channels: 0, delivered: 0, parked: 0, attempts: 0 })
    await vr.applyPolicy(`
[[notifications]]
name = "ci"
channel_type = "webhook"
config = { url = "${url}", secret = "s3cret" }
events = ["deployment.completed"]
`)
    await vr.trackDeployment(dep({ environmentName: 'production', status: 'completed' }))
    const report = await vr.deliverPending()
    assert.deepEqual(report, { channels: 1, delivered: 1, parked: 0, attempts: 1 })
    assert.equal(got.length, 1)
    const { headers, body } = got[0]
    assert.equal(headers['x-versioner-event'], 'deployment.completed')
    const expected = 'sha256=' + createHmac('sha256', 's3cret').update(body).digest('hex')
    assert.ok(timingSafeEqual(Buffer.from(headers['x-versioner-signature']), Buffer.from(expected)))
    assert.equal(JSON.parse(body).is_successful, true)
  } finally {
    server.close()
  }
})

test('subscribe calls the listener after commit, in order, never for refused work', async () => {
  const vr = fresh()
  await vr.applyPolicy({ rules: [{ name: 'Staging first', type: 'flow', environments: ['production'], prerequisites: ['staging'] }] })
  const got = []
  let wake
  const two = new Promise((resolve) => (wake = resolve))
  const sub = vr.subscribe((event) => {
    got.push(event)
    if (got.length === 2) wake()
  })
  await vr.trackBuild({ productName: 'api', version: '1.0.0', status: 'completed' })
  await assert.rejects(vr.trackDeployment(dep({ environmentName: 'production' })), { code: 'FLOW_VIOLATION' })
  await vr.trackDeployment(dep({ status: 'completed' }))
  await two
  sub.cancel()
  assert.deepEqual(got.map((e) => e.eventType), ['build.completed', 'deployment.completed'])
  assert.ok(got[0].seq < got[1].seq)
})
