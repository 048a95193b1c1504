package database

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDomainPackagesDoNotAskForTheDialect: which database RocketFin runs on is this package's
// business (and the migrations', the test databases' and the job queue's, which picks River's
// driver by it); a domain package that branches on it
// uses ForUpdate, SkipLocked, LockName, ExecAll or WithAsyncCommit instead.
func TestDomainPackagesDoNotAskForTheDialect(t *testing.T) {
	root := filepath.Join("..", "..")
	allowed := map[string]bool{"internal/database": true, "migrations": true, "internal/dbtest": true, "internal/jobs": true}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || allowed[filepath.ToSlash(filepath.Dir(rel))] {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, ask := range []string{"IsPostgres(", "Dialector.Name()"} {
			if strings.Contains(string(b), ask) {
				t.Errorf("%s asks which database it runs on (%s): use a helper of internal/database", rel, ask)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
