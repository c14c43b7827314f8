/**
 * Compilers put helper functions at the top of a module and call them from
 * inside its functions (tsc's `__awaiter`, esbuild's and tsx's `__name`...).
 * A function shipped as source leaves them behind, so a worker compiles it in
 * a scope that provides the helpers its source mentions, and only those.
 */
import * as esbuild from './esbuild-helpers'
import { asyncDelegator, asyncGenerator, asyncValues, tslibAwait } from './tslib-async-iteration'
import { generator } from './tslib-generator'
import * as tslib from './tslib-helpers'

/** tsc's helpers, by tslib's names. */
const TSLIB: Readonly<Record<string, unknown>> = Object.freeze({
  __extends: tslib.extendsClass,
  __assign: tslib.assign,
  __rest: tslib.rest,
  __awaiter: tslib.awaiter,
  __generator: generator,
  __values: tslib.values,
  __read: tslib.read,
  __spread: tslib.spread,
  __spreadArrays: tslib.spreadArrays,
  __spreadArray: tslib.spreadArray,
  __await: tslibAwait,
  __asyncGenerator: asyncGenerator,
  __asyncDelegator: asyncDelegator,
  __asyncValues: asyncValues,
  __makeTemplateObject: tslib.makeTemplateObject,
  __classPrivateFieldGet: tslib.classPrivateFieldGet,
  __classPrivateFieldSet: tslib.classPrivateFieldSet,
  __classPrivateFieldIn: tslib.classPrivateFieldIn,
  __setFunctionName: tslib.setFunctionName,
  __propKey: tslib.propKey,
  __addDisposableResource: tslib.addDisposableResource,
  __disposeResources: tslib.disposeResources,
})

/** esbuild's helpers, by its runtime's names; `__await` and `__asyncGenerator` differ from tslib's. */
const ESBUILD: Readonly<Record<string, unknown>> = Object.freeze({
  __name: esbuild.keepName,
  __pow: esbuild.pow,
  __spreadValues: esbuild.spreadValues,
  __spreadProps: esbuild.spreadProps,
  __restKey: esbuild.restKey,
  __objRest: esbuild.objRest,
  __publicField: esbuild.publicField,
  __privateIn: esbuild.privateIn,
  __privateGet: esbuild.privateGet,
  __privateAdd: esbuild.privateAdd,
  __privateSet: esbuild.privateSet,
  __privateMethod: esbuild.privateMethod,
  __privateWrapper: esbuild.privateWrapper,
  __earlyAccess: esbuild.earlyAccess,
  __superGet: esbuild.superGet,
  __superSet: esbuild.superSet,
  __superWrapper: esbuild.superWrapper,
  __template: esbuild.template,
  __async: esbuild.runAsync,
  __await: esbuild.EsbuildAwait,
  __asyncGenerator: esbuild.asyncGenerator,
  __yieldStar: esbuild.yieldStar,
  __forAwait: esbuild.forAwait,
  __using: esbuild.addUsing,
  __callDispose: esbuild.callDispose,
})

/**
 * As whole words: helper names; `tslib_1`, tsc's name for `require("tslib")`
 * under importHelpers; `templateObject_1`, the variable where tsc's ES5 output
 * caches a tagged template's strings (one per function compiled here, as one
 * per module there: a template's strings stay one object per call site).
 */
const MENTIONED = /(?<![\w$])(?:__[A-Za-z]\w*|tslib_\d+|templateObject_\d+)(?![\w$])/g
const TSLIB_NAMESPACE = /^tslib_\d+$/
const TEMPLATE_CACHE = /^templateObject_\d+$/

// esbuild builds its markers with `new __await(...)`; tsc calls `__await(...)` and pairs it with helpers esbuild never emits.
const TSLIB_ASYNC_PROTOCOL = /(?<!\bnew\s+)\b__await\b|\b__(?:generator|asyncDelegator|asyncValues)\b/

/** Parameter names and the values to pass for them. */
export interface HelperScope {
  readonly names: readonly string[]
  readonly values: readonly unknown[]
}

const NO_HELPERS: HelperScope = { names: [], values: [] }

/** The helpers `source` mentions, to compile it as `new Function(...names, body)(...values)`. */
export function helperScope(source: string): HelperScope {
  const words = source.match(MENTIONED)
  if (words === null) return NO_HELPERS
  let asyncDialect: Readonly<Record<string, unknown>> | undefined
  const names: string[] = []
  const values: unknown[] = []
  for (const word of new Set(words)) {
    let value: unknown
    if (TSLIB_NAMESPACE.test(word)) value = TSLIB
    else if (TEMPLATE_CACHE.test(word)) value = undefined
    else if (Object.hasOwn(TSLIB, word) && Object.hasOwn(ESBUILD, word)) {
      asyncDialect ??= TSLIB_ASYNC_PROTOCOL.test(source) ? TSLIB : ESBUILD
      value = asyncDialect[word]
    } else if (Object.hasOwn(TSLIB, word)) value = TSLIB[word]
    else if (Object.hasOwn(ESBUILD, word)) value = ESBUILD[word]
    else continue
    names.push(word)
    values.push(value)
  }
  return names.length === 0 ? NO_HELPERS : { names, values }
}
