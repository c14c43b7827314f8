export { KeyRef, encode, decode, decodeFrom, assertEncodable, UnencodableValueError } from './codec'
export { Channel } from './channel'
export * from './messages'
export { SOCKET_OPTIONS } from './socket'
