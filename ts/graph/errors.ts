/** A task could not be built from what was given: names the argument, option or function at fault. */
export class InvalidTaskError extends Error {
  readonly code = 'SKEIN_INVALID_TASK'
  override readonly name = 'InvalidTaskError'
}
