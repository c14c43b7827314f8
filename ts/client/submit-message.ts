import { encode } from '../protocol'
import type { GraphSlice } from '../graph'
import { writePlainValue } from '../graph/plain-value'

/** 0x94 (an array of 4), then the string 'submit'. */
const SUBMIT_HEAD = Buffer.from([0x94, 0xa6, ...Buffer.from('submit')])

/**
 * The message ['submit', request, graph, wanted] as the codec encodes it (same bytes), built in
 * one buffer of its exact size: the tasks are copied once, straight from where the client wrote
 * them, where the codec would copy them into its own buffer, growing it for a large graph, and the
 * channel would copy that again.
 */
export function encodeSubmit(request: number, graph: GraphSlice, wanted: Uint32Array): Buffer {
  const wantedBytes = encode(wanted)
  const graphLength = 5 + graph.end - graph.start
  const binHeader = graphLength < 0x100 ? 2 : graphLength < 0x10000 ? 3 : 5
  const message = Buffer.allocUnsafe(SUBMIT_HEAD.length + 5 + binHeader + graphLength + wantedBytes.length)
  message.set(SUBMIT_HEAD, 0)
  let p = writePlainValue(message, SUBMIT_HEAD.length, request)
  if (binHeader === 2) {
    message[p] = 0xc4
    message[p + 1] = graphLength
  } else if (binHeader === 3) {
    message[p] = 0xc5
    message.writeUInt16BE(graphLength, p + 1)
  } else {
    message[p] = 0xc6
    message.writeUInt32BE(graphLength, p + 1)
  }
  p += binHeader
  message[p] = 0xdd // the graph: an array32 of its tasks
  message.writeUInt32BE(graph.count, p + 1)
  p += 5
  message.set(graph.bytes.subarray(graph.start, graph.end), p)
  p += graph.end - graph.start
  message.set(wantedBytes, p)
  p += wantedBytes.length
  return p === message.length ? message : message.subarray(0, p)
}
