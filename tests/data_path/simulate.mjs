// Evaluates IAM requests with @cloud-copilot/iam-simulate (pinned 0.1.173; AGPL-3.0, a test-only
// devDependency that is never shipped).
// stdin:  {"requests": [{"id": ..., "simulation": <iam-simulate Simulation>}, ...]}
// stdout: [{"id", "result", "blockedBy", "parts", "ignoredContextKeys", "errors"?}, ...], same order.
// One process evaluates every request of a profile, so the contract costs one Node start-up.
import { loadPolicy } from '@cloud-copilot/iam-policy'
import { isWildcardOnlyAction, runSimulation } from '@cloud-copilot/iam-simulate'

// Workaround: runSimulation keeps only the context keys its action data lists, and it expands
// only `/`-style variables (aws:ResourceTag/${TagKey}), so it drops every
// kms:EncryptionContext:<key> request key and a key policy's encryption-context condition could
// never match. Those requests are evaluated again by the same engine (the library's `authorize`,
// which runSimulation calls after validating) with the full context. The package's exports hide
// that module, hence the file URL into the pinned version.
const internals = new URL('../../node_modules/@cloud-copilot/iam-simulate/dist/esm/', import.meta.url)
const { authorize } = await import(new URL('core_engine/CoreSimulatorEngine.js', internals))
const { AwsRequestImpl } = await import(new URL('request/request.js', internals))
const { RequestContextImpl } = await import(new URL('requestContext.js', internals))
const { DiscoveryContextKeyConstraints } = await import(new URL('context_keys/discoveryContextKeyConstraints.js', internals))
const ENCRYPTION_CONTEXT = /^kms:encryptioncontext:./i

async function authorizeWithFullContext(simulation) {
  const { request } = simulation
  const [service, action] = request.action.split(':')
  const named = (list) => (list ?? []).map(({ name, policy }) => loadPolicy(policy, { name }))
  return authorize({
    request: new AwsRequestImpl(request.principal, request.resource, request.action,
      new RequestContextImpl(request.contextVariables), await isWildcardOnlyAction(service, action)),
    sessionPolicy: undefined,
    identityPolicies: named(simulation.identityPolicies),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: simulation.resourcePolicy && loadPolicy(simulation.resourcePolicy, { name: 'resource' }),
    permissionBoundaries: undefined,
    vpcEndpointPolicies: simulation.vpcEndpointPolicies && named(simulation.vpcEndpointPolicies),
    simulationParameters: { simulationMode: 'Strict', discoveryContextKeyConstraints: new DiscoveryContextKeyConstraints([]) }
  })
}

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const { requests } = JSON.parse(Buffer.concat(chunks).toString('utf8'))

// "policy:sid" (or the statement's index) of each matching allow and deny statement.
const statements = (list) => list.map((s) => `${s.policyId ?? 'resource'}:${s.statement.sid() ?? s.statement.index()}`)
const part = (analysis) =>
  analysis && {
    result: analysis.result,
    allow: statements(analysis.allowStatements ?? []),
    deny: statements(analysis.denyStatements ?? [])
  }

const out = []
for (const { id, simulation } of requests) {
  const response = await runSimulation(simulation, {})
  if (response.resultType === 'error') {
    out.push({ id, result: 'Error', errors: response.errors })
    continue
  }
  // A resource of "*" for an action that has resource types is evaluated per matching pattern.
  const result = response.resultType === 'single' ? response.result : response.results[0]
  let analysis = { ...result?.analysis, result: response.overallResult }
  const ignored = result?.ignoredContextKeys ?? []
  if (ignored.some((key) => ENCRYPTION_CONTEXT.test(key))) analysis = await authorizeWithFullContext(simulation)
  out.push({
    id,
    result: analysis.result,
    blockedBy: analysis.blockedBy ?? [],
    ignoredContextKeys: ignored.filter((key) => !ENCRYPTION_CONTEXT.test(key)),
    parts: {
      identity: part(analysis.identityAnalysis),
      resource: part(analysis.resourceAnalysis),
      endpoint: part(analysis.endpointAnalysis)
    }
  })
}
process.stdout.write(JSON.stringify(out))
