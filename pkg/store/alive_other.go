//go:build !unix

package store

// processAlive cannot tell here: a lease is then waited for until it
// expires.
func processAlive(int) bool { return true }
