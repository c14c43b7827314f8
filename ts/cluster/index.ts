export { LocalCluster, type LocalClusterOptions } from './local-cluster'
