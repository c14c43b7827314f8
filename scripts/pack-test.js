#!/usr/bin/env node
// Shows that the published shape works: the main package plus this
// platform's binary package, both packed with `npm pack`, install into an
// empty directory and run `new Scheduler()` with no Rust toolchain on PATH.
'use strict'
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const pkg = require(path.join(root, 'package.json'))

function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts })
}

function platformDir() {
  const nodeFile = fs.readdirSync(path.join(root, 'native')).find((f) => f.startsWith(`${pkg.napi.binaryName}.`) && f.endsWith('.node'))
  if (!nodeFile) throw new Error('no native/*.node: run `npm run build:native` first')
  const triple = nodeFile.slice(pkg.napi.binaryName.length + 1, -'.node'.length)
  const dir = path.join(root, 'npm', triple)
  if (!fs.existsSync(dir)) throw new Error(`no npm/${triple} package dir (napi create-npm-dirs makes them)`)
  return { nodeFile, triple, dir }
}

function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'skein-pack-'))
  try {
    const { nodeFile, triple, dir } = platformDir()
    const platformPkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))

    // 1. the platform package, with the binary copied in (as `napi pre-publish` does)
    const platformStage = path.join(work, 'platform')
    fs.cpSync(dir, platformStage, { recursive: true })
    fs.copyFileSync(path.join(root, 'native', nodeFile), path.join(platformStage, nodeFile))
    const platformTgz = sh('npm', ['pack', '--pack-destination', work], { cwd: platformStage }).trim().split('\n').pop()

    // 2. the main package, with the platform packages as optional dependencies (added at publish time,
    //    so a source checkout never fetches them from the registry)
    const mainStage = path.join(work, 'main')
    fs.mkdirSync(mainStage)
    for (const entry of ['dist', 'native', 'scripts', 'README.md', 'LICENSE']) {
      const from = path.join(root, entry)
      if (fs.existsSync(from)) fs.cpSync(from, path.join(mainStage, entry), { recursive: true })
    }
    for (const f of fs.readdirSync(path.join(mainStage, 'native'))) {
      if (f.endsWith('.node')) fs.rmSync(path.join(mainStage, 'native', f)) // the binary must come from the platform package
    }
    const stagedPkg = { ...pkg, optionalDependencies: { [platformPkg.name]: platformPkg.version } }
    delete stagedPkg.devDependencies
    delete stagedPkg.scripts.prepack
    fs.writeFileSync(path.join(mainStage, 'package.json'), JSON.stringify(stagedPkg, null, 2))
    const mainTgz = sh('npm', ['pack', '--pack-destination', work], { cwd: mainStage }).trim().split('\n').pop()

    // 3. an empty project installs both, with no cargo/rustc reachable
    const app = path.join(work, 'app')
    fs.mkdirSync(app)
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'skein-pack-test-app', version: '1.0.0', private: true }))
    const nodeDir = path.dirname(process.execPath)
    const env = { ...process.env, PATH: [nodeDir, '/usr/bin', '/bin'].join(path.delimiter), CARGO: '', RUSTC: '', CARGO_HOME: path.join(work, 'no-cargo'), RUSTUP_HOME: path.join(work, 'no-rustup') }
    try {
      sh('cargo', ['--version'], { env })
      throw new Error('cargo is still on PATH; the test would not prove anything')
    } catch (err) {
      if (err.message.includes('still on PATH')) throw err
    }
    sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(work, platformTgz), path.join(work, mainTgz)], { cwd: app, env })
    const cjs = sh(process.execPath, ['-e', "const { Scheduler } = require('skein'); const s = new Scheduler(); console.log('cjs ok', typeof s)"], { cwd: app, env })
    const esm = sh(process.execPath, ['--input-type=module', '-e', "import { Scheduler } from 'skein'; const s = new Scheduler(); console.log('esm ok', typeof s)"], { cwd: app, env })
    const loaded = sh(process.execPath, ['-e', "console.log(require.resolve('" + platformPkg.name + "'))"], { cwd: app, env })
    process.stdout.write(cjs + esm)
    console.log(`binary from ${path.relative(app, loaded.trim())} (${triple})`)
    // The dashboard's page is built into dist/ (npm run build:dashboard) and ships with it: the scheduler serves it, reports inline it.
    const bundle = path.join(app, 'node_modules', 'skein', 'dist', 'dashboard', 'dashboard.js')
    if (!fs.existsSync(bundle) || fs.statSync(bundle).size < 10_000) throw new Error(`the packed package lacks the dashboard's bundle ${bundle}`)
    console.log('dashboard bundle ok')

    // 4. the package as a strict TypeScript user meets it: no skipLibCheck, nothing installed but skein,
    //    typescript and @types/node (whatever else its types need must come with it)
    const installed = path.join(app, 'node_modules', 'skein')
    if (!fs.existsSync(path.join(installed, 'LICENSE'))) throw new Error('the package has no LICENSE')
    const map = JSON.parse(fs.readFileSync(path.join(installed, 'dist', 'index.js.map'), 'utf8'))
    if (!Array.isArray(map.sourcesContent) || map.sourcesContent.length !== map.sources.length) throw new Error('dist/index.js.map points at sources the package does not carry')
    const tsVersion = require(path.join(root, 'node_modules', 'typescript', 'package.json')).version
    const nodeTypes = require(path.join(root, 'node_modules', '@types', 'node', 'package.json')).version
    sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', `typescript@${tsVersion}`, `@types/node@${nodeTypes}`], { cwd: app, env })
    fs.writeFileSync(
      path.join(app, 'app.ts'),
      [
        "import { Client, LocalCluster, Scheduler, Worker, task, wait, type Future } from 'skein'",
        'export async function main(): Promise<number> {',
        '  await using cluster = await LocalCluster.start({ workers: 1 })',
        '  await using client = await Client.connect(cluster.address)',
        '  const f: Future<number> = client.submit((x: number) => x + 1, 1)',
        '  const { done } = await wait([f])',
        '  const both = await client.gather({ f, g: client.compute(task((x: number) => x * 2, 2)) })',
        '  return done.length + both.f + both.g + (new Scheduler() ? 0 : 1) + (Worker ? 0 : 1)',
        '}',
        '',
      ].join('\n'),
    )
    const tsc = path.join(app, 'node_modules', 'typescript', 'bin', 'tsc')
    sh(process.execPath, [tsc, '--strict', '--noEmit', '--skipLibCheck', 'false', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--lib', 'es2022,esnext.disposable', '--types', 'node', 'app.ts'], { cwd: app, env })
    console.log('strict tsc ok')

    // 5. the main package alone, as `npm pack` of a checkout makes it: the install fails, saying why and what to do
    const alone = path.join(work, 'alone')
    fs.mkdirSync(alone)
    fs.writeFileSync(path.join(alone, 'package.json'), JSON.stringify({ name: 'skein-pack-test-alone', version: '1.0.0', private: true }))
    delete stagedPkg.optionalDependencies
    fs.writeFileSync(path.join(mainStage, 'package.json'), JSON.stringify(stagedPkg, null, 2))
    const aloneTgz = sh('npm', ['pack', '--pack-destination', alone], { cwd: mainStage }).trim().split('\n').pop()
    let refusal = ''
    try {
      sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(alone, aloneTgz)], { cwd: alone, env })
    } catch (err) {
      refusal = String(err.stderr)
    }
    const reason = /skein: (this skein package carries no native binary.*)/.exec(refusal)
    if (!reason) throw new Error(`installing the main package alone did not fail with the reason: ${refusal.slice(-2000)}`)
    console.log(`alone: ${reason[1]}`)
    console.log('pack test passed')
  } finally {
    if (!process.env.SKEIN_KEEP_PACK_TEST) fs.rmSync(work, { recursive: true, force: true })
  }
}

main()
