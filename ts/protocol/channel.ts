import type WebSocket from 'ws'
import { decode, encode } from './codec'

const BINARY = { binary: true }
/** For a frame the channel made and nobody else holds (see PortSocket's `handOver`). */
const HANDED_OVER = { binary: true, handOver: true }

/** Above this many buffered bytes the channel waits for the socket to drain before the next frame. */
const HIGH_WATER_BYTES = 4 * 1024 * 1024
/** ... until it is down to this many. */
const LOW_WATER_BYTES = HIGH_WATER_BYTES / 2

/** One message already encoded (by the native core): sent as its bytes, not re-encoded. */
class Encoded {
  constructor(
    readonly bytes: Uint8Array,
    /** The same bytes behind one spare byte, where a frame of this message alone puts its header. */
    readonly roomy: Buffer | null,
  ) {}
}

/** MessagePack array header for `n` elements. */
function arrayHeader(n: number): Buffer {
  if (n < 16) return Buffer.from([0x90 | n])
  if (n < 0x10000) return Buffer.from([0xdc, n >> 8, n & 0xff])
  const b = Buffer.allocUnsafe(5)
  b[0] = 0xdd
  b.writeUInt32BE(n, 1)
  return b
}

/** A bound on what may wait to be sent to a peer that does not read; `overflow` is called once past it. */
export interface SendLimit {
  maxQueuedBytes: number
  overflow(queuedBytes: number): void
}

/** What a message that is not pre-encoded counts for against a SendLimit (its size is not known before it is encoded). */
const UNENCODED_MESSAGE_BYTES = 64

/**
 * One side of a WebSocket that speaks frames of messages. Messages sent in one
 * event-loop turn, or while the socket is still draining, leave together as
 * one frame; a lone message leaves on the next turn. There is no timer: an
 * idle channel adds no latency.
 */
export class Channel<Out, In> {
  private pending: (Out | Encoded)[] = []
  private encodedPending = 0
  /** Bytes waiting in `pending` while the socket drains (counted only then: see SendLimit). */
  private waitingBytes = 0
  private overflowed = false
  /** A flush is scheduled for the end of this turn. */
  private scheduled = false
  /**
   * What it was scheduled for was sent already (flushNow): it sends nothing, so that a message
   * sent "later" meanwhile waits for its own delay. (It still runs: a loop turn that sleeps less
   * often costs less than cancelling it.)
   */
  private scheduledForNothing = false
  private readonly scheduledFlush = () => {
    this.scheduled = false
    if (this.scheduledForNothing) this.scheduledForNothing = false
    else if (!this.waitingForDrain) this.flush()
  }
  private waitingForDrain = false
  private closed = false
  private lazyTimer: NodeJS.Timeout | null = null
  private readonly lazyFlush = () => {
    this.lazyTimer = null
    if (!this.waitingForDrain) this.flush()
  }

  constructor(
    readonly socket: WebSocket,
    private readonly onMessage: (message: In) => void,
    private readonly onBadFrame: (error: Error) => void,
    private readonly limit: SendLimit | null = null,
  ) {
    socket.binaryType = 'nodebuffer'
    socket.on('message', (data: Buffer, isBinary: boolean) => this.receive(data, isBinary))
    socket.on('close', () => {
      this.closed = true
      this.pending = []
      this.encodedPending = 0
    })
  }

  send(message: Out): void {
    if (this.closed) return
    this.pending.push(message)
    if (this.waitingForDrain) this.queued(UNENCODED_MESSAGE_BYTES)
    this.schedule()
  }

  /** Like `send`, for one message already encoded as MessagePack bytes; it joins the same frame. */
  sendEncoded(message: Uint8Array): void {
    if (this.closed) return
    this.pending.push(new Encoded(message, null))
    this.encodedPending++
    if (this.waitingForDrain) this.queued(message.byteLength)
    this.schedule()
  }

  /**
   * Like `sendEncoded`, for a message that may wait: it leaves with the next frame this channel
   * sends anyway, or after `maxDelayMs` if none does. Saves a write (and waking the peer) for
   * housekeeping that nothing waits on.
   */
  sendEncodedLater(message: Uint8Array, maxDelayMs: number): void {
    if (this.closed) return
    this.pending.push(new Encoded(message, null))
    this.encodedPending++
    this.flushLater(maxDelayMs)
  }

  /** Like `sendEncodedLater`, for a message that is not encoded yet. */
  sendLater(message: Out, maxDelayMs: number): void {
    if (this.closed) return
    this.pending.push(message)
    if (this.waitingForDrain) this.queued(UNENCODED_MESSAGE_BYTES)
    this.flushLater(maxDelayMs)
  }

  /**
   * Like `sendEncoded`, for a message written at offset 1 of `buffer` (byte 0 is spare):
   * when it makes a frame alone, the frame header goes into that byte and the
   * bytes leave as they are, with no copy into a frame buffer.
   */
  sendEncodedAt1(buffer: Buffer): void {
    if (this.closed) return
    this.pending.push(new Encoded(buffer.subarray(1), buffer))
    this.encodedPending++
    if (this.waitingForDrain) this.queued(buffer.byteLength)
    this.schedule()
  }

  /**
   * Sends what is pending now rather than on the next turn, unless the socket is still
   * draining. For callers that run once at the end of a turn (a flush of their own
   * batch): it saves a trip around the event loop per hop.
   */
  flushNow(): void {
    if (!this.waitingForDrain) this.flush()
  }

  /**
   * Sends `frame` (a whole frame, encoded: an array of messages) as a frame of its own, now,
   * after what is pending, which leaves first even while the socket drains. For messages
   * carrying values: each keeps to a frame of its own, so frames never grow past the largest
   * of them. The sender of many waits for `drained` between them.
   */
  sendFrame(frame: Buffer): void {
    if (this.closed) return
    if (this.pending.length > 0) this.flush()
    if (this.socket.readyState !== this.socket.OPEN) return
    this.socket.send(frame, BINARY)
    if (this.socket.bufferedAmount > HIGH_WATER_BYTES) this.waitForDrain()
    if (this.limit !== null && this.socket.bufferedAmount > this.limit.maxQueuedBytes) this.queued(0)
  }

  /**
   * Resolves true once the socket holds at most `lowWater` bytes not yet sent (at once if it
   * does), false if the channel closed first.
   */
  drained(lowWater = LOW_WATER_BYTES): Promise<boolean> {
    if (!this.isOpen) return Promise.resolve(false)
    if (this.socket.bufferedAmount <= lowWater) return Promise.resolve(true)
    return new Promise((resolve) => {
      const poll = () => {
        if (!this.isOpen) resolve(false)
        else if (this.socket.bufferedAmount <= lowWater) resolve(true)
        else setTimeout(poll, 1)
      }
      setTimeout(poll, 1)
    })
  }

  /** Sends everything pending now, in this turn (for shutdown paths). */
  flush(): void {
    if (this.lazyTimer !== null) {
      clearTimeout(this.lazyTimer)
      this.lazyTimer = null
    }
    if (this.scheduled) this.scheduledForNothing = true
    if (this.closed || this.pending.length === 0) return
    let frame = this.encodedPending === 0 ? encode(this.pending) : this.soleRoomyMessage()
    let options = BINARY
    if (frame === null) {
      // A new Buffer that nobody else holds: an in-process socket may move it to the other thread.
      frame = this.spliceFrame()
      options = HANDED_OVER
    }
    this.pending = []
    this.encodedPending = 0
    this.waitingBytes = 0
    if (this.socket.readyState !== this.socket.OPEN) return
    this.socket.send(frame, options)
    if (this.socket.bufferedAmount > HIGH_WATER_BYTES) this.waitForDrain()
    else if (this.limit !== null && this.socket.bufferedAmount > this.limit.maxQueuedBytes) this.queued(0)
  }

  /** Counts bytes queued while the socket drains, against the limit. */
  private queued(bytes: number): void {
    this.waitingBytes += bytes
    if (this.limit === null || this.overflowed) return
    const total = this.waitingBytes + this.socket.bufferedAmount
    if (total <= this.limit.maxQueuedBytes) return
    this.overflowed = true
    this.limit.overflow(total)
  }

  get isOpen(): boolean {
    return !this.closed && this.socket.readyState === this.socket.OPEN
  }

  close(code = 1000, reason = ''): void {
    this.flush()
    this.closed = true
    this.socket.close(code, reason)
  }

  /** A lone message sent with room for its frame header, made into its frame (see sendEncodedAt1); else null. */
  private soleRoomyMessage(): Buffer | null {
    const only = this.pending.length === 1 ? this.pending[0] : null
    if (!(only instanceof Encoded) || only.roomy === null) return null
    only.roomy[0] = 0x91 // a frame of one message
    return only.roomy
  }

  /** The frame as an array header followed by each message's bytes: encoded ones as they are. */
  private spliceFrame(): Buffer {
    const parts: Uint8Array[] = [arrayHeader(this.pending.length)]
    for (const m of this.pending) parts.push(m instanceof Encoded ? m.bytes : encode(m))
    return Buffer.concat(parts)
  }

  private flushLater(maxDelayMs: number): void {
    if (this.lazyTimer !== null || (this.scheduled && !this.scheduledForNothing)) return
    this.lazyTimer = setTimeout(this.lazyFlush, maxDelayMs)
    this.lazyTimer.unref()
  }

  private schedule(): void {
    if (this.waitingForDrain) return
    this.scheduledForNothing = false
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(this.scheduledFlush)
  }

  private waitForDrain(): void {
    if (this.waitingForDrain) return
    this.waitingForDrain = true
    const poll = () => {
      if (this.closed) return
      if (this.socket.bufferedAmount > LOW_WATER_BYTES) {
        this.queued(0)
        setTimeout(poll, 1)
        return
      }
      this.waitingForDrain = false
      this.flush()
    }
    setTimeout(poll, 1)
  }

  private receive(data: Buffer, isBinary: boolean): void {
    let messages: unknown
    try {
      if (!isBinary) throw new Error('text frames are not part of the protocol')
      messages = decode(data)
    } catch (err) {
      this.onBadFrame(new Error(`undecodable frame: ${(err as Error).message}`))
      return
    }
    if (!Array.isArray(messages)) {
      this.onBadFrame(new Error('a frame must be an array of messages'))
      return
    }
    // The whole frame is checked before any of it is handled, and refused once: a frame of a
    // million non-messages costs one pass and one error, not a million.
    for (let i = 0; i < messages.length; i++) {
      const message: unknown = messages[i]
      if (!Array.isArray(message) || typeof message[0] !== 'string') {
        this.onBadFrame(new Error(`a frame must be an array of messages, each an array whose first element is its name; element ${i} of ${messages.length} is not, so the frame was dropped`))
        return
      }
    }
    for (const message of messages) {
      // A message may close the connection (a refused handshake): what follows it is not read.
      if (this.closed) return
      try {
        this.onMessage(message as In)
      } catch (err) {
        this.onBadFrame(err as Error)
      }
    }
  }
}
