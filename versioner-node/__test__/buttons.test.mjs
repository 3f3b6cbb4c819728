// Variables, deployment buttons and notification configuration from Node: the core's CRUD,
// rendered buttons URL-encoded per RFC 3986, errors with their codes (nothing written), and a
// webhook channel configured here delivering to a local receiver.
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { test } from 'node:test'

import { fresh, rejectsWith } from './helpers.mjs'

test('variables: CRUD, the product scope overrides the organization', async () => {
  const vr = fresh()
  await vr.trackBuild({ productName: 'api', version: '1.0.0', status: 'completed' })
  const org = await vr.setVariable('region', 'eu')
  assert.equal(org.name, 'region')
  assert.equal(org.value, 'eu')
  assert.equal(org.product, undefined)
  assert.equal(org.declared, false)
  assert.ok(org.updatedAt instanceof Date)
  const prod = await vr.setVariable('region', 'us', 'api')
  assert.equal(prod.product, 'api')
  assert.deepEqual((await vr.variables()).map((v) => v.value), ['eu'])
  assert.deepEqual((await vr.variables('api')).map((v) => [v.name, v.value]), [['region', 'us']])
  await vr.setVariable('region', 'ap')
  assert.deepEqual((await vr.variables()).map((v) => v.value), ['ap'])
  await vr.removeVariable('region', 'api')
  assert.deepEqual(await vr.variables('api'), [])
  await rejectsWith(vr.removeVariable('region', 'api'), 'NOT_FOUND')
})

test('a bad or reserved variable name is INVALID_INPUT and writes nothing', async () => {
  const vr = fresh()
  for (const [name, message] of [
    ['vi_version', /prefix `vi_` is reserved/],
    ['Bad-Name', /is not a variable name/],
    ['', /is not a variable name/],
  ]) {
    const err = await rejectsWith(vr.setVariable(name, 'x'), 'INVALID_INPUT')
    assert.equal(err.field, 'name')
    assert.match(err.message, message)
  }
  await rejectsWith(vr.setVariable('region', 'eu', 'nope'), 'NOT_FOUND')
  const missing = await rejectsWith(vr.setVariable('region'), 'INVALID_INPUT')
  assert.equal(missing.field, 'value')
  assert.deepEqual(await vr.variables(), [])
  assert.deepEqual(await vr.variables('nope'), [])
})

test('buttons render URL-encoded values, the product overriding the organization', async () => {
  const vr = fresh()
  await vr.trackBuild({ productName: 'api', version: '1.2.3', status: 'completed', buildNumber: 42 })
  await vr.setVariable('my_var', 'org value')
  const tricky = 'a&b=c/d#e f?'
  await vr.setVariable('my_var', tricky, 'api')
  const button = await vr.addDeploymentButton({
    product: 'api',
    name: 'Deploy',
    urlTemplate: 'https://ci.example.com/job/deploy/{vi_product_name}?version={vi_version}&target={my_var}&env={vi_environment_name}',
    environments: ['staging', 'production'],
  })
  assert.equal(button.product, 'api')
  assert.equal(button.enabled, true)
  assert.deepEqual(button.environments, ['staging', 'production'])
  assert.ok(button.createdAt instanceof Date)
  assert.deepEqual((await vr.deploymentButtons('api')).map((b) => b.id), [button.id])
  assert.deepEqual((await vr.deploymentButtons()).map((b) => b.id), [button.id])
  assert.deepEqual(await vr.deploymentButtons('other'), [])

  const rendered = await vr.versionButtons('api', '1.2.3')
  assert.deepEqual(rendered.map((r) => r.environment), ['staging', 'production'])
  for (const r of rendered) {
    assert.equal(r.buttonId, button.id)
    assert.equal(r.error, undefined)
    assert.equal(
      r.url,
      `https://ci.example.com/job/deploy/api?version=1.2.3&target=a%26b%3Dc%2Fd%23e%20f%3F&env=${r.environment}`,
    )
    const url = new URL(r.url)
    assert.equal(url.hash, '')
    assert.equal(url.searchParams.get('target'), tricky)
    assert.equal(url.searchParams.get('version'), '1.2.3')
  }

  await vr.removeVariable('my_var', 'api')
  const [first] = await vr.versionButtons('api', '1.2.3')
  assert.equal(new URL(first.url).searchParams.get('target'), 'org value')
})

test('a missing variable is named on the rendered button', async () => {
  const vr = fresh()
  await vr.trackBuild({ productName: 'api', version: '1.0.0', status: 'completed' })
  await vr.addDeploymentButton({ product: 'api', name: 'Deploy', urlTemplate: 'https://ci.example.com/{token}', environments: ['production'] })
  const [r] = await vr.versionButtons('api', '1.0.0')
  assert.equal(r.url, undefined)
  assert.equal(r.error, 'Missing variable: token')
})

test('button errors carry their code and field and write nothing', async () => {
  const vr = fresh()
  await vr.trackBuild({ productName: 'api', version: '1.0.0', status: 'completed' })
  const base = { product: 'api', name: 'Run', environments: ['prod'] }
  const ftp = await rejectsWith(vr.addDeploymentButton({ ...base, urlTemplate: 'ftp://files.example.com/{vi_version}' }), 'INVALID_INPUT')
  assert.equal(ftp.field, 'urlTemplate')
  assert.match(ftp.message, /http/)
  await rejectsWith(vr.addDeploymentButton({ ...base, urlTemplate: 'javascript:alert(1)' }), 'INVALID_INPUT')
  const none = await rejectsWith(vr.addDeploymentButton({ ...base, urlTemplate: 'https://ci.example.com/', environments: [] }), 'INVALID_INPUT')
  assert.equal(none.field, 'environments')
  await rejectsWith(vr.addDeploymentButton({ ...base, product: 'nope', urlTemplate: 'https://ci.example.com/' }), 'NOT_FOUND')
  const unknown = await rejectsWith(vr.addDeploymentButton({ ...base, urlTemplate: 'https://ci.example.com/', colour: 'red' }), 'INVALID_INPUT')
  assert.match(unknown.message, /colour/)
  assert.deepEqual(await vr.deploymentButtons(), [])
  const first = await vr.addDeploymentButton({ ...base, urlTemplate: 'https://ci.example.com/' })
  const again = await rejectsWith(vr.addDeploymentButton({ ...base, name: 'Again', urlTemplate: 'https://ci.example.com/b' }), 'INVALID_INPUT')
  assert.match(again.message, /one template per environment/)
  assert.deepEqual((await vr.deploymentButtons()).map((b) => b.id), [first.id])
  await vr.removeDeploymentButton(first.id)
  assert.deepEqual(await vr.deploymentButtons(), [])
  await rejectsWith(vr.removeDeploymentButton(first.id), 'NOT_FOUND')
  await rejectsWith(vr.versionButtons('api', '9.9.9'), 'NOT_FOUND')
})

test('a viewer may not manage variables', async () => {
  const vr = fresh()
  await rejectsWith(vr.actingAs('rita', 'viewer').setVariable('region', 'eu'), 'FORBIDDEN')
  assert.deepEqual(await vr.variables(), [])
})

test('channels: CRUD, and a secret is never returned', async () => {
  const vr = fresh()
  const channel = await vr.addNotificationChannel('ci', 'webhook', { url: 'https://hooks.example.com/x', secret: 's3cret-value' })
  assert.equal(channel.name, 'ci')
  assert.equal(channel.channelType, 'webhook')
  const listed = await vr.notificationChannels()
  assert.deepEqual(listed.map((c) => c.id), [channel.id])
  for (const shown of [channel, listed[0]]) {
    assert.equal(shown.config.url, 'https://hooks.example.com/x')
    assert.ok(!JSON.stringify(shown).includes('s3cret-value'))
  }
  const removed = await vr.removeNotificationChannel('ci')
  assert.equal(removed.id, channel.id)
  assert.deepEqual(await vr.notificationChannels(), [])
  await rejectsWith(vr.removeNotificationChannel('ci'), 'NOT_FOUND')
})

test('channel, preference and history errors carry their code and write nothing', async () => {
  const vr = fresh()
  const pigeon = await rejectsWith(vr.addNotificationChannel('ci', 'pigeon', { url: 'https://x.example.com/' }), 'INVALID_INPUT')
  assert.match(pigeon.message, /pigeon/)
  const noUrl = await rejectsWith(vr.addNotificationChannel('ci', 'webhook', {}), 'INVALID_INPUT')
  assert.equal(noUrl.field, 'config.url')
  assert.deepEqual(await vr.notificationChannels(), [])
  await vr.addNotificationChannel('ci', 'webhook', { url: 'https://x.example.com/' })
  await rejectsWith(vr.addNotificationChannel('ci', 'webhook', { url: 'https://y.example.com/' }), 'INVALID_INPUT')
  await rejectsWith(vr.addNotificationPreference({ channelId: 'ci', eventType: 'deployment.exploded' }), 'INVALID_INPUT')
  await rejectsWith(vr.addNotificationPreference({ channelId: 'nope', eventType: 'deployment.completed' }), 'NOT_FOUND')
  assert.deepEqual(await vr.notificationPreferences(), [])
  await rejectsWith(vr.removeNotificationPreference('no-such-id'), 'NOT_FOUND')
  const lost = await rejectsWith(vr.notificationHistory({ status: 'lost' }), 'INVALID_INPUT')
  assert.match(lost.message, /delivered, retrying, parked/)
  const zero = await rejectsWith(vr.notificationHistory({ limit: 0 }), 'INVALID_INPUT')
  assert.equal(zero.field, 'limit')
  await rejectsWith(vr.notificationHistory({ channel: 'nope' }), 'NOT_FOUND')
  await rejectsWith(vr.sendTestNotification('nope'), 'NOT_FOUND')
})

test('a webhook channel configured here delivers, and the history shows it', async () => {
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
    const channel = await vr.addNotificationChannel('ci', 'webhook', { url, secret: 's3cret' })
    const pref = await vr.addNotificationPreference({ channelId: channel.id, eventType: 'build.completed', products: ['api'], statuses: ['completed'] })
    assert.equal(pref.channelId, channel.id)
    assert.equal(pref.eventType, 'build.completed')
    assert.deepEqual(pref.filters, { environments: [], products: ['api'], statuses: ['completed'] })
    assert.deepEqual((await vr.notificationPreferences()).map((p) => p.id), [pref.id])

    await vr.trackBuild({ productName: 'other', version: '1.0.0', status: 'completed' })
    await vr.trackBuild({ productName: 'api', version: '1.2.3', status: 'completed' })
    const report = await vr.deliverPending()
    assert.equal(report.delivered, 1)
    assert.equal(report.parked, 0)
    assert.equal(got.length, 1)
    assert.equal(got[0].headers['x-versioner-event'], 'build.completed')
    assert.equal(JSON.parse(got[0].body).version, '1.2.3')

    const history = await vr.notificationHistory({ channel: 'ci' })
    assert.equal(history.length, 1)
    const [d] = history
    assert.equal(d.channelName, 'ci')
    assert.equal(d.eventType, 'build.completed')
    assert.equal(d.status, 'delivered')
    assert.equal(d.responseCode, 200)
    assert.equal(got[0].headers['x-versioner-delivery'], d.deliveryId)
    assert.ok(d.attemptedAt instanceof Date)
    assert.deepEqual(await vr.notificationHistory({ status: 'parked' }), [])

    const t = await vr.sendTestNotification('ci')
    assert.equal(t.eventType, 'test')
    assert.equal(t.status, 'delivered')
    assert.equal(t.seq, undefined)
    assert.equal(got.at(-1).headers['x-versioner-event'], 'test')
    assert.equal((await vr.notificationHistory({ limit: 1 })).length, 1)

    const removed = await vr.removeNotificationPreference(pref.id)
    assert.equal(removed.id, pref.id)
    assert.deepEqual(await vr.notificationPreferences(), [])
  } finally {
    server.close()
  }
})
