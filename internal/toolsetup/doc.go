// Package toolsetup holds the tests of the scripts in tools/ that provision
// what the tests need (tools/python-tools.sh); it has no code of its own.
package toolsetup
