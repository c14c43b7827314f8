export { KeyRef, encode, decode, assertEncodable, UnencodableValueError } from './codec'
export { Channel } from './channel'
export * from './messages'
