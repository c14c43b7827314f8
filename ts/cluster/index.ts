export { LocalCluster, type LocalClusterOptions } from './local-cluster'
export { createTestCertificates, CertificateError, type TestCertificates, type TestCertificateOptions } from './certificates'
