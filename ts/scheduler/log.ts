/** Where the scheduler's parts write their notices: see ts/log. */
export type { Log } from '../log'
