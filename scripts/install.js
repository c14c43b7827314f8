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
  console.error(
    'skein: no prebuilt native binary for ' + process.platform + '-' + process.arch +
      ' could be loaded. Install from a source checkout with a Rust toolchain (npm install builds it), ' +
      'or make sure optional dependencies are not disabled (npm install --include=optional).',
  )
  process.exit(1)
}
