// Bundles the dashboard page (dashboard/src, preact + vega-lite) into dist/dashboard/dashboard.js with
// esbuild: the scheduler serves it and performance reports inline it; nothing is fetched at run time.
import { build } from 'esbuild'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
await build({
  entryPoints: [path.join(root, 'dashboard', 'src', 'main.tsx')],
  outfile: path.join(root, 'dist', 'dashboard', 'dashboard.js'),
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2020',
  platform: 'browser',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  logLevel: 'warning',
})
