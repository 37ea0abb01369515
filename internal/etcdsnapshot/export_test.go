package etcdsnapshot

// StartEtcdIn is startEtcdIn for the external tests (s3_test.go, which
// needs herdtest, which needs this package).
var StartEtcdIn = startEtcdIn
