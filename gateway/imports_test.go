package gateway_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportRules enforces the package boundaries DESIGN.md sets: only the
// Redis store imports go-redis (and the composition roots that open it:
// gateway, cmd/gateway and the load harness cmd/loadtest), fhir never imports oauth (only oauth/smart)
// nor apps, apps and gateway/ui import nothing of ours, and oauth imports
// only apps and gateway/ui (its pages).
func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "github.com/patientaccess/gateway/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/patientaccess/gateway/"
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, deps := fields[0], fields[1:]
		for _, d := range deps {
			switch {
			case strings.HasPrefix(d, "github.com/redis/go-redis") && !strings.HasPrefix(pkg, mod+"gateway/store/redis") &&
				pkg != mod+"gateway" && pkg != mod+"cmd/gateway" && pkg != mod+"cmd/loadtest":
				t.Errorf("%s imports go-redis; only gateway/store/redis may", pkg)
			case strings.HasPrefix(pkg, mod+"fhir") && strings.HasPrefix(d, mod) && d != mod+"oauth/smart" && !strings.HasPrefix(d, mod+"fhir"):
				t.Errorf("%s imports %s; fhir may import only oauth/smart", pkg, d)
			case strings.HasPrefix(pkg, mod+"apps") && strings.HasPrefix(d, mod):
				t.Errorf("%s imports %s; apps imports nothing of ours", pkg, d)
			case strings.HasPrefix(pkg, mod+"gateway/ui") && strings.HasPrefix(d, mod):
				t.Errorf("%s imports %s; gateway/ui imports nothing of ours", pkg, d)
			case strings.HasPrefix(pkg, mod+"oauth") && strings.HasPrefix(d, mod) && !strings.HasPrefix(d, mod+"oauth") &&
				d != mod+"apps" && d != mod+"gateway/ui":
				t.Errorf("%s imports %s; oauth may import only apps and gateway/ui", pkg, d)
			}
		}
	}
}
