#!/usr/bin/env node
// Runs on `npm install`. In a source checkout (Cargo.toml present) it builds the
// native addon in release mode and compiles the TypeScript, so a fresh clone
// works after `npm install`. In an installed package it only checks that a
// prebuilt binary loads (the platform package from optionalDependencies, or a
// .node beside the loader) and says what to do when none does.
'use strict'
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const isSourceCheckout = fs.existsSync(path.join(root, 'Cargo.toml'))

function run(cmd, args) {
  const res = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' })
  if (res.error) throw res.error
  if (res.status !== 0) process.exit(res.status ?? 1)
}

function bin(name) {
  return path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? `${name}.cmd` : name)
}

function prebuiltLoads() {
  const res = spawnSync(process.execPath, ['-e', "require('./native/index.js')"], { cwd: root, stdio: 'ignore' })
  return res.status === 0
}

if (process.env.SKEIN_SKIP_INSTALL_BUILD) process.exit(0)

if (isSourceCheckout) {
  console.log('skein: building the native addon from source (release)')
  run(bin('napi'), ['build', '--platform', '--release', '--output-dir', 'native', '--js', 'index.js', '--dts', 'index.d.ts'])
  if (fs.existsSync(path.join(root, 'ts'))) {
    console.log('skein: compiling TypeScript')
    run(bin('tsc'), ['-p', 'tsconfig.json'])
  }
} else if (!prebuiltLoads()) {
  console.error(`skein: ${missingBinaryReason()}`)
  process.exit(1)
}

/** The name napi gives this platform's binary package: skein-<platform>-<arch>[-<abi>]. */
function platformPackage() {
  const pkg = require(path.join(root, 'package.json'))
  let abi = ''
  if (process.platform === 'linux') abi = process.report?.getReport?.().header?.glibcVersionRuntime ? '-gnu' : '-musl'
  else if (process.platform === 'win32') abi = '-msvc'
  return `${pkg.napi?.binaryName ?? 'skein'}-${process.platform}-${process.arch}${abi}`
}

/** Why no binary loads, and what to do, from what this package lists and what is installed. */
function missingBinaryReason() {
  const pkg = require(path.join(root, 'package.json'))
  const name = platformPackage()
  const listed = Object.prototype.hasOwnProperty.call(pkg.optionalDependencies ?? {}, name)
  let installed = false
  try {
    require.resolve(`${name}/package.json`, { paths: [root] })
    installed = true
  } catch {}
  const fromSource = 'or build skein from a source checkout with a Rust toolchain (git clone, then npm install)'
  if (!listed) {
    return `this skein package carries no native binary for ${process.platform}-${process.arch} and lists no package that does (a package made with \`npm pack\` from a checkout has none): install ${name} beside it (npm install ${name}), ${fromSource}.`
  }
  if (!installed) {
    return `the package with its native binary, ${name}, was not installed; optional dependencies are probably switched off (--omit=optional, --no-optional or npm config omit=optional): install with --include=optional, ${fromSource}.`
  }
  const res = spawnSync(process.execPath, ['-e', "require('./native/index.js')"], { cwd: root, encoding: 'utf8' })
  const why = (res.stderr || '').split('\n').find((line) => /Error/.test(line)) ?? `exit code ${res.status}`
  return `${name} is installed but its binary does not load here (${why.trim()}): it may be built for another C library or CPU; ${fromSource}.`
}
