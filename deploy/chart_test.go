package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/rocketfin/rocketfin/internal/testenv"
)

// helm finds the helm binary: ROCKETFIN_TEST_HELM (scripts/test installs it), else PATH. Without
// one the tests are skipped, except where the suite must be complete (CI, scripts/test).
func helm(t *testing.T) string {
	t.Helper()
	return testenv.Tool(t, "ROCKETFIN_TEST_HELM", "helm")
}

// object is one rendered manifest.
type object map[string]any

func (o object) kind() string { s, _ := o["kind"].(string); return s }
func (o object) name() string { s, _ := dig(o, "metadata", "name").(string); return s }

func dig(v any, path ...string) any {
	if o, ok := v.(object); ok {
		v = map[string]any(o)
	}
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func list(v any) []any { l, _ := v.([]any); return l }

// render runs helm template with the values files given and parses every document.
func render(t *testing.T, values ...string) []object {
	t.Helper()
	args := []string{"template", "rf", filepath.Join("helm", "rocketfin"), "--namespace", "rocketfin", "--kube-version", "1.31.0"}
	for _, v := range values {
		args = append(args, "-f", filepath.Join("helm", "rocketfin", v))
	}
	out, err := exec.Command(helm(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	var objs []object
	dec := yaml.NewDecoder(bytes.NewReader(out))
	for {
		var o object
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("parse the rendered manifests: %v\n%s", err, out)
		}
		if o != nil {
			objs = append(objs, o)
		}
	}
	return objs
}

func find(objs []object, kind, name string) object {
	for _, o := range objs {
		if o.kind() == kind && (name == "" || o.name() == name) {
			return o
		}
	}
	return nil
}

func container(t *testing.T, d object) map[string]any {
	t.Helper()
	cs := list(dig(d, "spec", "template", "spec", "containers"))
	if len(cs) != 1 {
		t.Fatalf("%s has %d containers", d.name(), len(cs))
	}
	return cs[0].(map[string]any)
}

func envOf(c map[string]any) map[string]any {
	out := map[string]any{}
	for _, e := range list(c["env"]) {
		m := e.(map[string]any)
		if v, ok := m["value"]; ok {
			out[m["name"].(string)] = v
		} else {
			out[m["name"].(string)] = m["valueFrom"]
		}
	}
	return out
}

func TestTheChartLints(t *testing.T) {
	for _, v := range [][]string{nil, {"values-production.yaml"}} {
		args := []string{"lint", "--strict", filepath.Join("helm", "rocketfin")}
		for _, f := range v {
			args = append(args, "-f", filepath.Join("helm", "rocketfin", f))
		}
		if out, err := exec.Command(helm(t), args...).CombinedOutput(); err != nil {
			t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestTheManifestsKeepTheirPromises: probes, a non-root read-only container, a grace period longer
// than the shutdown timeout, workers apart from the API, the migration hook, the disruption budget,
// autoscaling, the network policy, metrics, CloudNativePG and no secret written into a manifest.
func TestTheManifestsKeepTheirPromises(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []string
	}{{"default", nil}, {"production", []string{"values-production.yaml"}}} {
		t.Run(tc.name, func(t *testing.T) {
			objs := render(t, tc.values...)
			api := find(objs, "Deployment", "rf-rocketfin-api")
			worker := find(objs, "Deployment", "rf-rocketfin-worker")
			if api == nil || worker == nil {
				t.Fatalf("rendered %d objects without the API and worker Deployments", len(objs))
			}
			c := container(t, api)
			for probe, path := range map[string]string{"readinessProbe": "/readyz", "livenessProbe": "/healthz", "startupProbe": "/readyz"} {
				if dig(c, probe, "httpGet", "path") != path {
					t.Errorf("api %s: %v", probe, c[probe])
				}
			}
			if dig(c, "resources", "requests", "cpu") == nil || dig(c, "resources", "limits", "memory") == nil {
				t.Errorf("api resources: %v", c["resources"])
			}
			for _, d := range []object{api, worker} {
				pod := dig(d, "spec", "template", "spec")
				dc := container(t, d)
				if dig(pod, "securityContext", "runAsNonRoot") != true || dig(dc, "securityContext", "readOnlyRootFilesystem") != true ||
					dig(dc, "securityContext", "allowPrivilegeEscalation") != false {
					t.Errorf("%s is not non-root and read-only: %v %v", d.name(), dig(pod, "securityContext"), dc["securityContext"])
				}
				if len(list(dig(pod, "topologySpreadConstraints"))) == 0 {
					t.Errorf("%s has no topology spread", d.name())
				}
			}
			env := envOf(c)
			shutdown, err := time.ParseDuration(env["ROCKETFIN_SHUTDOWN_TIMEOUT"].(string))
			if err != nil {
				t.Fatal(err)
			}
			grace, _ := strconv.Atoi(toString(dig(api, "spec", "template", "spec", "terminationGracePeriodSeconds")))
			if time.Duration(grace)*time.Second <= shutdown {
				t.Errorf("grace %ds does not exceed the shutdown timeout %s", grace, shutdown)
			}
			if env["ROCKETFIN_BACKGROUND_JOBS"] != "false" || list(container(t, worker)["args"])[0] != "worker" {
				t.Errorf("the API still runs the background work, or the worker is not `rocketfin worker`")
			}
			if env["ROCKETFIN_SECRET_KEY"] == nil || dig(env["ROCKETFIN_SECRET_KEY"], "secretKeyRef", "name") == nil {
				t.Errorf("ROCKETFIN_SECRET_KEY is not read from a Secret: %v", env["ROCKETFIN_SECRET_KEY"])
			}
			var migrate object
			for _, o := range objs {
				if o.kind() == "Job" && strings.HasPrefix(o.name(), "rf-rocketfin-migrate") {
					migrate = o
				}
			}
			if migrate == nil || dig(migrate, "metadata", "annotations", "helm.sh/hook") != "pre-install,pre-upgrade" ||
				list(container(t, migrate)["args"])[0] != "migrate" {
				t.Errorf("migration Job %v", migrate)
			}
			if find(objs, "PodDisruptionBudget", "rf-rocketfin-api") == nil || find(objs, "NetworkPolicy", "") == nil {
				t.Error("no PodDisruptionBudget or NetworkPolicy")
			}
			for _, o := range objs {
				if o.kind() == "Secret" && (o["data"] != nil || o["stringData"] != nil) {
					t.Errorf("Secret %s holds literal values", o.name())
				}
				if o.kind() == "ConfigMap" {
					for k := range dig(o, "data").(map[string]any) {
						if strings.Contains(strings.ToLower(k), "secret") || strings.Contains(strings.ToLower(k), "token") {
							t.Errorf("ConfigMap %s holds %s", o.name(), k)
						}
					}
				}
			}
			prod := tc.name == "production"
			if (find(objs, "HorizontalPodAutoscaler", "") != nil) != prod || (find(objs, "ServiceMonitor", "") != nil) != prod {
				t.Errorf("HPA and ServiceMonitor are for the production values only")
			}
			cluster := find(objs, "Cluster", "")
			if prod {
				if cluster == nil || toString(dig(cluster, "spec", "instances")) != "3" || dig(env["DATABASE_URL"], "secretKeyRef", "name") != "rf-rocketfin-pg-app" ||
					find(objs, "ScheduledBackup", "") == nil {
					t.Errorf("CloudNativePG: cluster %v, DATABASE_URL %v", cluster, env["DATABASE_URL"])
				}
			} else if cluster != nil || dig(env["DATABASE_URL"], "secretKeyRef", "key") != "DATABASE_URL" {
				t.Errorf("the default values use an external database: %v", env["DATABASE_URL"])
			}
		})
	}
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case uint64:
		return strconv.FormatUint(x, 10)
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}

// TestAGracePeriodShorterThanTheShutdownIsRefused: the chart fails to render rather than kill
// requests in flight.
func TestAGracePeriodShorterThanTheShutdownIsRefused(t *testing.T) {
	out, err := exec.Command(helm(t), "template", "rf", filepath.Join("helm", "rocketfin"), "--kube-version", "1.31.0",
		"--set", "api.shutdownTimeout=30s", "--set", "api.terminationGracePeriodSeconds=20").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "must exceed") {
		t.Fatalf("rendered anyway: %v\n%s", err, out)
	}
}

// TestTheAlertsAndDashboardReadRealMetrics: every rocketfin_ metric the alert rules and the
// dashboard query is one the code registers.
func TestTheAlertsAndDashboardReadRealMetrics(t *testing.T) {
	registered := map[string]bool{}
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != ".." && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir // .git, .tools
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range metricName.FindAllStringSubmatch(string(b), -1) {
				registered[m[1]] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"monitoring/alerts.yaml", "monitoring/grafana-dashboard.json"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range usedMetric.FindAllString(string(b), -1) {
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count")
			if !registered[base] {
				t.Errorf("%s queries %s, which no code registers", f, m)
			}
		}
	}
}

var (
	metricName = regexp.MustCompile(`Name:\s*"(rocketfin_[a-z_]+)"`)
	usedMetric = regexp.MustCompile(`rocketfin_[a-z_]+`)
)
