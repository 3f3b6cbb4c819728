// The field guard: every field of every core record reaches its Node mirror.
//
// versioner-core/tests/vectors/records.json holds every record the core hands out, each field
// populated, in the serde JSON the addon converts (the core's suite keeps it current). Each one
// goes through the addon's own conversion (`__recordFromCoreForTests`, the function every method
// uses), whose mirrors refuse unknown fields: a field the core gains and src/records.rs lacks
// fails here, named. Every key must then hold a value under its camelCase name, and every
// property index.d.ts declares for the mirror must be set.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { test } from 'node:test'

const VECTORS = new URL('../../versioner-core/tests/vectors/records.json', import.meta.url)
const { records } = JSON.parse(readFileSync(VECTORS, 'utf8'))
const DTS = readFileSync(new URL('../index.d.ts', import.meta.url), 'utf8')
// Hidden from the ESM named exports and index.d.ts: not part of the API.
const convert = createRequire(import.meta.url)('../index.js').__recordFromCoreForTests

/** The TypeScript interface of each core record's mirror. */
const MIRRORS = {
  Product: 'Product',
  Environment: 'Environment',
  Version: 'Version',
  Build: 'Build',
  Deployment: 'Deployment',
  Preflight: 'Preflight',
  Verdict: 'Verdict',
  RuleOutcome: 'RuleOutcome',
  Approval: 'Approval',
  StoredRule: 'StoredRule',
  RuleStatusChange: 'RuleStatusChange',
  ApplyReport: 'ApplyReport',
  DeployedVersion: 'DeployedVersion',
  StateCell: 'StateCell',
  StateMatrix: 'StateMatrix',
  Drift: 'Drift',
  CiInfo: 'CiInfo',
  DecisionRecord: 'DecisionRecord',
  Facts: 'Facts',
  OpenDeployment: 'OpenDeployment',
  Stint: 'Stint',
  ReplayChange: 'ReplayChange',
  AuditReport: 'AuditReport',
  DomainEvent: 'DomainEvent',
  DeploymentRequest: 'DeploymentRequest',
  Progress: 'Progress',
  RequestTemplate: 'RequestTemplate',
  CoveringRequest: 'CoveringRequest',
  QueueEntry: 'QueueEntry',
}

/** Core records the addon does not expose, and why. */
const NOT_EXPOSED = {
  ApiKey: 'keys are managed by `versioner keys` and the server, not the bindings',
  Principal: 'principals are managed by `versioner keys` and the server, not the bindings',
}

/** Keys whose values are data (free-form maps, a request as sent): their keys are not fields. */
const FREE_FORM = new Set(['extra_metadata', 'details', 'metadata', 'versions', 'payload', 'request'])

const camel = (name) => name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase())

/** The keys of `wire` (recursively) whose camelCase property on `record` holds no value. */
function unmapped(record, wire, path) {
  const problems = []
  for (const [key, value] of Object.entries(wire)) {
    const here = `${path}.${key}`
    const got = record[camel(key)]
    if (got === undefined || got === null) {
      problems.push(`${here}: \`${camel(key)}\` is ${got}, the core sent ${JSON.stringify(value)}`)
    } else if (FREE_FORM.has(key) || got instanceof Date) {
      continue
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => {
        if (item && typeof item === 'object') problems.push(...unmapped(got[i] ?? {}, item, `${here}[${i}]`))
      })
    } else if (value && typeof value === 'object') {
      problems.push(...unmapped(got, value, here))
    }
  }
  return problems
}

/** The property names index.d.ts declares for `name`. */
function declared(name) {
  const body = DTS.match(new RegExp(`export interface ${name} \\{\\n([\\s\\S]*?)\\n\\}`))
  assert.ok(body, `index.d.ts has no interface ${name}`)
  return [...body[1].matchAll(/^ {2}(\w+)\??:/gm)].map((m) => m[1])
}

test('every core record type has a Node mirror or is listed as not exposed', () => {
  const kinds = Object.keys(records)
  const unknown = kinds.filter((k) => !(k in MIRRORS) && !(k in NOT_EXPOSED))
  assert.deepEqual(unknown, [], 'core records with no Node mirror (add one to src/records.rs, or to NOT_EXPOSED)')
  const gone = [...Object.keys(MIRRORS), ...Object.keys(NOT_EXPOSED)].filter((k) => !kinds.includes(k))
  assert.deepEqual(gone, [], `listed here but no longer in records.json`)
  for (const kind of Object.keys(NOT_EXPOSED)) {
    assert.throws(() => convert(kind, records[kind][0]), { code: 'INTERNAL', message: /no Node mirror/ })
  }
})

for (const [kind, iface] of Object.entries(MIRRORS)) {
  test(`every field of a core ${kind} reaches its Node mirror`, () => {
    for (const [i, wire] of records[kind].entries()) {
      // Throws INTERNAL "unknown field `...`" for a field src/records.rs lacks.
      const record = convert(kind, wire)
      const problems = unmapped(record, wire, `${kind}[${i}]`)
      assert.deepEqual(problems, [], `core fields that do not reach Node:\n  ${problems.join('\n  ')}`)
    }
    const unset = declared(iface).filter((prop) => records[kind].every((wire) => convert(kind, wire)[prop] === undefined))
    assert.deepEqual(unset, [], `${iface} properties no core field sets`)
  })
}

test('a field the mirror lacks is refused by name', () => {
  const deployment = records.Deployment[0]
  assert.throws(() => convert('Deployment', { ...deployment, rollout_wave: 3 }), {
    code: 'INTERNAL',
    message: /unknown field `rollout_wave`/,
  })
  const nested = structuredClone(deployment)
  nested.preflight.verdict.outcomes[0].severity = 'high'
  assert.throws(() => convert('Deployment', nested), { code: 'INTERNAL', message: /unknown field `severity`/ })
  const schedule = structuredClone(records.StoredRule.find((r) => r.type === 'schedule'))
  schedule.windows[0].timezone = 'UTC'
  assert.throws(() => convert('StoredRule', schedule), { code: 'INTERNAL', message: /unknown field `timezone`/ })
  const decision = structuredClone(records.DecisionRecord[0])
  decision.facts.stints.staging.regressed = true
  assert.throws(() => convert('DecisionRecord', decision), { code: 'INTERNAL', message: /unknown field `regressed`/ })
})

test('a stint\'s superseded pair becomes { at, version }', () => {
  const [stint] = records.Stint
  const converted = convert('Stint', stint)
  assert.ok(converted.superseded.at instanceof Date)
  assert.equal(converted.superseded.at.toISOString(), new Date(stint.superseded[0]).toISOString())
  assert.equal(converted.superseded.version, stint.superseded[1])
})
