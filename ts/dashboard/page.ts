import fs from 'node:fs'
import path from 'node:path'
import type { ReportData } from './types'

/** The page's bundle, built by `npm run build:dashboard` (dashboard/ bundled by esbuild into dist/dashboard/). */
export const BUNDLE_FILE = 'dashboard.js'

/** The built bundle's directory: beside this module's in dist/, or dist/dashboard/ when this module runs from ts/ (tsx). */
export function bundleDirectory(): string {
  const beside = __dirname
  if (fs.existsSync(path.join(beside, BUNDLE_FILE))) return beside
  return path.resolve(__dirname, '..', '..', 'dist', 'dashboard')
}

/** The bundle's text; throws saying how to build it when it is missing. */
export function readBundle(): string {
  const file = path.join(bundleDirectory(), BUNDLE_FILE)
  try {
    return fs.readFileSync(file, 'utf8')
  } catch {
    throw new Error(`the dashboard's bundle ${file} is missing: build it with npm run build:dashboard (part of npm run build:ts)`)
  }
}

const STYLE = `
body { font: 13px/1.4 system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
header { display: flex; gap: 1em; align-items: center; padding: 6px 12px; background: #243447; color: #fff; }
header a { color: #fff; } header form { margin-left: auto; }
main { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 12px; padding: 12px; }
section { background: #fff; border: 1px solid #ddd; border-radius: 4px; padding: 8px; min-width: 0; }
section.wide { grid-column: 1 / -1; }
h2 { font-size: 14px; margin: 0 0 6px; }
table { border-collapse: collapse; width: 100%; } td, th { padding: 2px 6px; text-align: right; border-bottom: 1px solid #eee; }
td:first-child, th:first-child { text-align: left; }
.muted { color: #777; } .error { color: #b00020; }
`

/**
 * The HTML around the bundle. The live dashboard loads the bundle from its server (`script`
 * a URL); a performance report inlines it and its data (one self-contained file). Nothing
 * secret goes in: the page never sees the token.
 */
export function pageHtml(title: string, script: { src: string } | { inline: string }, report?: ReportData): string {
  const data = report === undefined ? '' : `<script id="skein-report" type="application/json">${jsonForScript(report)}</script>\n`
  const code = 'src' in script ? `<script src="${escapeHtml(script.src)}"></script>` : `<script>${script.inline.replace(/<\/script/gi, '<\\/script')}</script>`
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><div id="app"></div>
${data}${code}
</body></html>
`
}

/** JSON that cannot end its <script> element early. */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029')
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
