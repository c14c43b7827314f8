/** Where the worker's parts write their notices: see ts/log. */
export type { Log } from '../log'
