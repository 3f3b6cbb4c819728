// Quick start for Node: a policy, a build, a dev → staging → production rollout where
// production is refused until two people approve, then "what's deployed where".
//
// Type-checked and run by scripts/test-node.sh:
//   tsc -p examples/node --noEmit          (types against the generated index.d.ts)
//   node <compiled>/quickstart.js [db]     (in-memory unless a database path is given)
import { Versioner, detectCi } from '@versioner/node'
import type { Deployment, StateMatrix, Verdict, VersionerError } from '@versioner/node'

const POLICY = `
[[rules]]
name = "Staging before production"
type = "flow"
environments = ["production"]
prerequisites = ["dev", "staging"]
strict_order = true

[[rules]]
name = "Production needs 2 approvals"
type = "release_approval"
environments = ["production"]
required = 2

[[rules]]
name = "One at a time"
type = "concurrency"
max = 1
`

/** A rejection is an Error carrying the stable code and, when blocked, the verdict. */
function isVersionerError(e: unknown): e is Error & VersionerError {
  return e instanceof Error && typeof (e as Partial<VersionerError>).code === 'string'
}

function table(state: StateMatrix): string {
  const rows = [['PRODUCT', ...state.environments]]
  for (const p of state.products) {
    rows.push([p, ...state.environments.map((e) => state.cells.find((c) => c.productName === p && c.environmentName === e)?.current?.version ?? '-')])
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  return rows.map((r) => r.map((s, i) => s.padEnd(widths[i])).join('  ').trimEnd()).join('\n')
}

async function main(path?: string): Promise<void> {
  const vr = new Versioner(path)
  const report = await vr.applyPolicy(POLICY, { actor: 'quickstart' })
  console.log(`policy: ${report.added.length} added, ${report.unchanged.length} unchanged`)

  // Each run ships the next version of `checkout`; CI details come from the environment.
  const ci = detectCi()
  const n = (await vr.versions('checkout', { limit: 1000 }).catch(() => [])).length
  const version = `1.0.${n}`
  const build = await vr.trackBuild({
    productName: 'checkout',
    version,
    status: 'success',
    scmSha: (0xc0ffee + n).toString(16).padStart(40, '0'),
    builtBy: 'ci-bot',
    sourceSystem: ci.sourceSystem,
  })
  console.log(`built    checkout ${version} (build ${build.id})`)

  for (const environmentName of ['dev', 'staging']) {
    // started → your deploy → completed (or failed, rethrowing), in one call.
    const started: Deployment = await vr.deploying({ productName: 'checkout', version, environmentName, deployedBy: 'dana' }, async (d) => d)
    console.log(`deployed checkout ${version} to ${environmentName} (deployment ${started.id})`)
  }

  const prod = { productName: 'checkout', version, environmentName: 'production', deployedBy: 'dana' }
  try {
    await vr.deploying(prod, async () => console.log('(not reached)'))
  } catch (e) {
    if (!isVersionerError(e) || !e.verdict) throw e
    const verdict: Verdict = e.verdict
    console.log(`\nproduction refused (${e.httpStatus} ${e.code}, rule "${e.ruleName}"):`)
    for (const o of verdict.outcomes) console.log(`  [${o.status}] ${o.ruleName}: ${o.message}`)
    console.log(e.retryAfter ? `  retry after ${e.retryAfter.toISOString()}` : '  a person must act')
  }

  for (const approver of ['alice', 'bob']) {
    await vr.approve({ productName: 'checkout', version, approvalType: 'release', approver, environmentName: 'production' })
    console.log(`approved by ${approver}`)
  }
  const shipped = await vr.deploying(prod, async (d) => d.id)
  console.log(`deployed checkout ${version} to production (deployment ${shipped})\n`)

  console.log(`What's deployed where:\n${table(await vr.state())}`)
}

main(process.argv[2]).catch((e: unknown) => {
  console.error(e)
  process.exitCode = 1
})
