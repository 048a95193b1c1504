package scoring

import (
	"os/exec"
	"strings"
	"testing"
)

// TestScoringDependsOnTheStandardLibraryOnly keeps the core free of web frameworks, ORMs, HTTP
// and the rest of this module (but internal/money, RocketFin's money type, itself standard
// library only): it must run anywhere, alone.
func TestScoringDependsOnTheStandardLibraryOnly(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list dependencies: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	self, err := exec.Command(goTool, "list", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkg := strings.TrimSpace(string(self))
	module := strings.TrimSuffix(pkg, "/scoring")
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case dep == pkg, dep == module+"/internal/money":
		case strings.HasPrefix(dep, module):
			t.Errorf("scoring imports %s, a package of this module", dep)
		case strings.Contains(dep, "gin") || strings.Contains(dep, "gorm") || strings.HasPrefix(dep, "net/http"):
			t.Errorf("scoring imports %s", dep)
		case strings.Contains(strings.SplitN(dep, "/", 2)[0], "."):
			t.Errorf("scoring imports %s, outside the standard library", dep)
		}
	}
}
