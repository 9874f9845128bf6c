package pipeline_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/orgscan/orgscan/internal/historytest"
	"github.com/orgscan/orgscan/pkg/store"
)

func TestHistoryWithLocalState(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	historytest.Run(t, &store.LocalState{Dir: dir}, store.Dir{Root: dir}, func() []byte {
		var all []byte
		_ = filepath.WalkDir(filepath.Join(dir, "state"), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := os.ReadFile(p)
				all = append(append(all, p...), b...)
			}
			return nil
		})
		return all
	}, nil)
}
