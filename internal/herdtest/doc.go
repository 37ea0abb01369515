// Package herdtest holds test harnesses that every package's tests use:
// real local clusters started once per test package, and the real kubectl
// pointed at them. It lives in non-test files so that any package can
// import it; nothing outside tests does.
package herdtest
