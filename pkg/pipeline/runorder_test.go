package pipeline_test

import (
	"testing"

	"github.com/orgscan/orgscan/internal/historytest"
	"github.com/orgscan/orgscan/pkg/store"
)

func localEnv(t *testing.T) func() historytest.Env {
	return func() historytest.Env {
		dir := t.TempDir()
		return historytest.Env{State: &store.LocalState{Dir: dir}, Blobs: store.Dir{Root: dir}}
	}
}

// Days 0, 2, then a late day 1, on the local state store: the late run
// changes nothing.
func TestLateRunChangesNothingLocally(t *testing.T) {
	t.Parallel()
	historytest.Ordered(t, localEnv(t))
}

// A killed aggregation carried by a new run, on the local state store.
func TestKilledAggregationIsCarriedByANewRunLocally(t *testing.T) {
	t.Parallel()
	historytest.Resumed(t, localEnv(t))
}
