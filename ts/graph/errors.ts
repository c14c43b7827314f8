/** A task could not be built from what was given: names the argument, option or function at fault. */
export class InvalidTaskError extends Error {
  readonly code = 'SKEIN_INVALID_TASK'
  override readonly name = 'InvalidTaskError'
}

export const FUNCTION_HASH_MISMATCH = 'SKEIN_FUNCTION_HASH_MISMATCH'

/** A shipped function's source does not hash to the hash it came under: it is neither kept nor run. */
export class FunctionHashMismatchError extends Error {
  readonly code = FUNCTION_HASH_MISMATCH
  override readonly name = 'FunctionHashMismatchError'
}
