/** Where the scheduler writes its one-line notices (bad input, workers joining and leaving). */
export type Log = (line: string) => void

export const stderrLog: Log = (line) => {
  process.stderr.write(`skein scheduler: ${line}\n`)
}
