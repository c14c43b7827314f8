/**
 * Deployment files: the Helm chart lints and renders what a Dask-like chart
 * has (run when `helm` is installed, else skipped with the reason), and the
 * Dockerfile copies files that exist and starts the package's `skein` command.
 */
import test from 'ava'
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'

const repo = path.join(__dirname, '..')
const chart = path.join(repo, 'deploy', 'helm', 'skein')

function helmMissing(): string | null {
  const probe = spawnSync('helm', ['version', '--short'], { encoding: 'utf8' })
  if (probe.error) return `helm is not on PATH (${(probe.error as NodeJS.ErrnoException).code}); .ci/run installs it from the Go module proxy`
  return probe.status === 0 ? null : `helm version failed: ${probe.stderr.trim()}`
}

const missing = helmMissing()
if (missing !== null) console.log(`deploy.spec.ts: the Helm chart tests are skipped: ${missing}`)
const helmTest = missing === null ? test : test.skip

function helm(...args: string[]): string {
  return execFileSync('helm', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

/** The rendered manifests by "Kind/name". */
function render(...sets: string[]): Map<string, string> {
  const out = helm('template', 'demo', chart, '--namespace', 'jobs', ...sets.flatMap((s) => ['--set', s]))
  const documents = new Map<string, string>()
  for (const doc of out.split(/^---$/m)) {
    const kind = /^kind: (\w+)$/m.exec(doc)?.[1]
    const name = /^metadata:\n(?: {2}.*\n)*? {2}name: (\S+)$/m.exec(doc)?.[1]
    if (kind !== undefined && name !== undefined) documents.set(`${kind}/${name}`, doc)
  }
  return documents
}

helmTest('helm lint passes on the chart', (t) => {
  const out = helm('lint', '--strict', chart)
  t.regex(out, /1 chart\(s\) linted, 0 chart\(s\) failed/)
})

helmTest('helm template renders a scheduler Deployment and Service, a worker Deployment, and the token in a Secret, shaped like Dask\'s chart', (t) => {
  const docs = render('worker.replicas=5', 'worker.resources.limits.cpu=2', 'worker.resources.limits.memory=4Gi')
  t.deepEqual([...docs.keys()].sort(), ['Deployment/demo-skein-scheduler', 'Deployment/demo-skein-worker', 'Secret/demo-skein-token', 'Service/demo-skein-scheduler'])

  const secret = docs.get('Secret/demo-skein-token')!
  const token = Buffer.from(/^ {2}token: "(.+)"$/m.exec(secret)![1], 'base64').toString()
  t.true(token.length >= 16, 'a random token of a usable length')

  const scheduler = docs.get('Deployment/demo-skein-scheduler')!
  t.regex(scheduler, /args:\n\s+- scheduler\n\s+- --host\n\s+- 0\.0\.0\.0\n\s+- --port\n\s+- "8786"/)
  for (const probe of ['livenessProbe', 'readinessProbe']) t.regex(scheduler, new RegExp(`${probe}:\\n\\s+httpGet:\\n\\s+path: /health\\n\\s+port: skein`))
  t.regex(scheduler, /containerPort: 8786/)
  t.regex(scheduler, /- name: SKEIN_TOKEN\n\s+valueFrom:\n\s+secretKeyRef:\n\s+name: demo-skein-token\n\s+key: token/)

  const service = docs.get('Service/demo-skein-scheduler')!
  t.regex(service, /port: 8786\n\s+targetPort: skein/)
  t.regex(service, /app\.kubernetes\.io\/component: scheduler/)
  // The dashboard (Dask's 8787) on the pod and the Service.
  t.regex(scheduler, /- --dashboard-address\n\s+- ":8787"/)
  t.regex(scheduler, /- name: dashboard\n\s+containerPort: 8787/)
  t.regex(service, /- name: dashboard\n\s+port: 8787\n\s+targetPort: dashboard/)

  const worker = docs.get('Deployment/demo-skein-worker')!
  t.regex(worker, /replicas: 5/)
  // Workers join the scheduler's Service with default address flags, the token from the Secret.
  t.regex(worker, /args:\n\s+- worker\n\s+- "ws:\/\/demo-skein-scheduler:8786"/)
  t.notRegex(worker, /- --(advertise-)?host/)
  t.regex(worker, /- name: SKEIN_TOKEN\n\s+valueFrom:\n\s+secretKeyRef:\n\s+name: demo-skein-token/)
  // Slots and the memory limit follow the container's limits.
  t.regex(worker, /- --slots\n\s+- \$\(SKEIN_CPU_LIMIT\)\n\s+- --memory-limit\n\s+- \$\(SKEIN_MEMORY_LIMIT\)/)
  t.regex(worker, /resource: limits\.memory/)
  t.regex(worker, /limits:\n\s+cpu: 2\n\s+memory: 4Gi/)
})

helmTest('scheduler.dashboardPort moves the dashboard, and 0 serves none (no port on the pod or the Service)', (t) => {
  const moved = render('scheduler.dashboardPort=9000')
  t.regex(moved.get('Deployment/demo-skein-scheduler')!, /- --dashboard-address\n\s+- ":9000"/)
  t.regex(moved.get('Service/demo-skein-scheduler')!, /port: 9000\n\s+targetPort: dashboard/)
  const none = render('scheduler.dashboardPort=0')
  t.regex(none.get('Deployment/demo-skein-scheduler')!, /- --no-dashboard/)
  t.notRegex(none.get('Deployment/demo-skein-scheduler')!, /dashboard-address|name: dashboard/)
  t.notRegex(none.get('Service/demo-skein-scheduler')!, /dashboard/)
})

helmTest('the chart takes an existing Secret, and refuses a token too short', (t) => {
  const docs = render('token.existingSecret=cluster-token', 'token.existingSecretKey=secret', 'worker.slots=3')
  t.false([...docs.keys()].some((k) => k.startsWith('Secret/')), 'no Secret of its own')
  const worker = docs.get('Deployment/demo-skein-worker')!
  t.regex(worker, /secretKeyRef:\n\s+name: cluster-token\n\s+key: secret/)
  t.regex(worker, /- --slots\n\s+- "3"/)
  t.notRegex(worker, /--memory-limit/)
  const error = t.throws(() => render('token.value=short'))
  t.regex(String((error as { stderr?: string }).stderr), /token\.value must have at least 16 characters/)
})

test('the Dockerfile copies files that exist and runs the package\'s skein command', (t) => {
  const dockerfile = readFileSync(path.join(repo, 'Dockerfile'), 'utf8')
  const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1].split(/\s+/))
  t.true(sources.length > 5)
  for (const source of sources) t.true(existsSync(path.join(repo, source)), `COPY ${source}: no such file`)
  const bin = (JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { bin: { skein: string } }).bin.skein
  t.regex(dockerfile, new RegExp(`^ENTRYPOINT \\["node", "/opt/skein/${bin.replace(/\./g, '\\.')}"\\]$`, 'm'))
  const ignored = readFileSync(path.join(repo, '.dockerignore'), 'utf8').split('\n')
  for (const source of sources) t.false(ignored.includes(source.split('/')[0]), `${source} is copied but .dockerignore leaves it out`)
})
