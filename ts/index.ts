/**
 * skein: a distributed task scheduler for Node.js with a native Rust
 * scheduling core. See the README for the API.
 */
export * from './scheduler'
export * from './client'
export * from './graph'
export * from './cluster'
