/**
 * The handshake every connection starts with (ts/protocol/handshake.ts):
 * golden bytes of its three messages and the exact HMACs, so that another
 * implementation (or a later version of this one) can be held to them, and
 * the checks that make a proof useless anywhere but on its own connection.
 */
import test from 'ava'
import { createHmac } from 'node:crypto'
import { Credentials, credentialsFromOptions, decode, encode, PartyHandshake, PROTOCOL_VERSION, ServerHandshake, type Auth } from '../ts/protocol'

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex')
const TOKEN = 'sixteen-chars-ok'
const credentials = Credentials.fromToken(TOKEN, 'the test')
const hmac = (label: string, first: Uint8Array, second: Uint8Array) => createHmac('sha256', TOKEN).update(label).update(first).update(second).digest()

/** ["challenge", 4, "hmac-sha256", nonce 32 x 0x01, []] */
const CHALLENGE = hex('95 a9 6368616c6c656e6765 04 ab 686d61632d736861323536 c4 20' + '01'.repeat(32) + '90')
/** ["auth", 4, "client", nonce 32 x 0x02, proof 32 x 0x03, []] */
const AUTH = hex('96 a4 61757468 04 a6 636c69656e74 c4 20' + '02'.repeat(32) + 'c4 20' + '03'.repeat(32) + '90')
/** ["authenticated", proof 32 x 0x04] */
const AUTHENTICATED = hex('92 ad 61757468656e74696361746564 c4 20' + '04'.repeat(32))

test('the handshake messages have golden bytes', (t) => {
  t.is(PROTOCOL_VERSION, 4)
  const challenge = ['challenge', 4, 'hmac-sha256', Buffer.alloc(32, 1), []]
  const auth = ['auth', 4, 'client', Buffer.alloc(32, 2), Buffer.alloc(32, 3), []]
  const authenticated = ['authenticated', Buffer.alloc(32, 4)]
  t.deepEqual(encode(challenge), CHALLENGE)
  t.deepEqual(encode(auth), AUTH)
  t.deepEqual(encode(authenticated), AUTHENTICATED)
  t.deepEqual(decode(CHALLENGE), challenge)
  t.deepEqual(decode(AUTH), auth)
  t.deepEqual(decode(AUTHENTICATED), authenticated)
})

test('the proofs are HMAC-SHA256 of the token over a label naming the side and role, then the nonces in a fixed order', (t) => {
  // Known-answer vectors for the nonces of the golden messages.
  t.is(hmac('skein/4/party/client', Buffer.alloc(32, 1), Buffer.alloc(32, 2)).toString('hex'), 'de92248d51d4ade9468b1bd8d82f397e988d0afd2f5ffe86ea2fdce086c0cff6')
  t.is(hmac('skein/4/server', Buffer.alloc(32, 2), Buffer.alloc(32, 1)).toString('hex'), '3f4992f99962bea005836a3d0bcf5d8c8b0a3aa55c07a114c150f4c31fcd631f')

  const server = new ServerHandshake(credentials, 'scheduler', ['client', 'worker'])
  const party = new PartyHandshake(credentials, 'client', 'the test server')
  const challenge = server.challenge()
  const auth = party.receive(challenge)!
  t.deepEqual(auth[4], hmac('skein/4/party/client', challenge[3], auth[3]))
  const authenticated = server.answer(auth)
  t.deepEqual(authenticated[1], hmac('skein/4/server', auth[3], challenge[3]))
  t.is(server.role, 'client')
  t.is(party.receive(authenticated), null)
  t.true(party.done)
})

test('a proof is good for its own connection and role only', (t) => {
  const first = new ServerHandshake(credentials, 'scheduler', ['client', 'worker'])
  const auth = new PartyHandshake(credentials, 'client', 'first').receive(first.challenge())!
  // Replayed to another connection (another server nonce): refused.
  t.throws(() => new ServerHandshake(credentials, 'scheduler', ['client', 'worker']).answer(auth), { code: 'SKEIN_AUTH_FAILED' })
  // The same proof claiming another role: refused.
  const asWorker: Auth = [...auth]
  asWorker[2] = 'worker'
  t.throws(() => first.answer(asWorker), { code: 'SKEIN_AUTH_FAILED' })
  // A role this server does not serve, and a proof made with another token.
  t.throws(() => new ServerHandshake(credentials, 'worker', ['peer']).answer(auth), { code: 'SKEIN_HANDSHAKE', message: /accepts 'peer' parties/ })
  const other = new ServerHandshake(credentials, 'scheduler', ['client'])
  const forged = new PartyHandshake(Credentials.fromToken('another-token-of-the-same-size', 'the test'), 'client', 'x').receive(other.challenge())!
  t.throws(() => other.answer(forged), { code: 'SKEIN_AUTH_FAILED', message: /wrong token/ })
  t.is(other.role, null, 'a refused party has no role')
})

test('the party checks the server: its proof, its version, and whether it asks for the token at all', (t) => {
  const server = new ServerHandshake(credentials, 'scheduler', ['client'])
  const party = new PartyHandshake(credentials, 'client', 'the server')
  server.answer(party.receive(server.challenge())!)
  t.throws(() => party.receive(['authenticated', Buffer.alloc(32)]), { code: 'SKEIN_AUTH_FAILED', message: /could not prove/ })
  t.false(party.done)

  const newer = ['challenge', PROTOCOL_VERSION + 1, 'none', Buffer.alloc(32), []]
  t.throws(() => new PartyHandshake(Credentials.none, 'client', 'the server').receive(newer), {
    code: 'SKEIN_PROTOCOL_VERSION',
    message: new RegExp(`speaks skein protocol ${PROTOCOL_VERSION + 1}, this side speaks ${PROTOCOL_VERSION}`),
  })
  t.throws(() => new PartyHandshake(Credentials.none, 'client', 'the server').receive(['welcome', 0]), { code: 'SKEIN_PROTOCOL_VERSION', message: /protocol 1/ })
  const insecure = new ServerHandshake(Credentials.none, 'scheduler', ['client'])
  t.throws(() => new PartyHandshake(credentials, 'client', 'the server').receive(insecure.challenge()), { code: 'SKEIN_AUTH_FAILED', message: /without authentication/ })
  t.throws(() => new PartyHandshake(Credentials.none, 'client', 'the server').receive(server.challenge()), { code: 'SKEIN_AUTH_FAILED', message: /requires the cluster's token/ })
  // Insecure on both sides: no proofs, and done.
  const open = new PartyHandshake(Credentials.none, 'client', 'the server')
  const reply = insecure.answer(open.receive(insecure.challenge())!)
  t.deepEqual(reply, ['authenticated', null])
  t.is(open.receive(reply), null)
})

test('a token shorter than 16 characters, or given twice, is refused with a clear error', (t) => {
  t.throws(() => Credentials.fromToken('short', 'the test'), { code: 'SKEIN_INVALID_OPTIONS', message: /5 characters; at least 16/ })
  t.throws(() => credentialsFromOptions({ token: TOKEN, tokenFile: '/tmp/token' }, 'Client.connect'), { code: 'SKEIN_INVALID_OPTIONS', message: /either 'token' or 'tokenFile'/ })
  t.throws(() => Credentials.fromFile('/nonexistent/token'), { code: 'SKEIN_INVALID_OPTIONS', message: /cannot read the token file/ })
  t.is(Credentials.fromToken(`  ${TOKEN}\n`, 'the test').token, TOKEN, 'surrounding whitespace (a file newline) is not part of it')
})
