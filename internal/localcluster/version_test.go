package localcluster

import (
	"os"
	"strings"
	"testing"
)

// TestVersionMatchesBuild keeps KubernetesVersion and KwokVersion in step
// with what `make kube` builds.
func TestVersionMatchesBuild(t *testing.T) {
	data, err := os.ReadFile("../../hack/kube/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"k8s.io/kubernetes " + KubernetesVersion, "sigs.k8s.io/kwok " + KwokVersion} {
		if !strings.Contains(string(data), want) {
			t.Errorf("hack/kube/go.mod does not require %q", want)
		}
	}
}

func TestChoosePorts(t *testing.T) {
	got, err := choosePorts(0, ports{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range got.list() {
		if p <= 0 || seen[p] {
			t.Fatalf("ports %+v: want distinct positive ports", got)
		}
		seen[p] = true
	}
	again, err := choosePorts(0, got)
	if err != nil {
		t.Fatal(err)
	}
	if again != got {
		t.Errorf("free previous ports not kept: got %+v, want %+v", again, got)
	}
}

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"demo", true}, {"a", true}, {"dev-1", true},
		{"", false}, {"-a", false}, {"a-", false}, {"Dev", false}, {"a_b", false}, {"../x", false},
		{strings.Repeat("a", 40), true}, {strings.Repeat("a", 41), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ValidateName(tt.name); (err == nil) != tt.ok {
				t.Errorf("ValidateName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
			}
		})
	}
}

func TestValidateNodeCapacity(t *testing.T) {
	cfg := Config{Name: "x", Dir: "/tmp/x", Nodes: []NodeSpec{{Name: "n", Memory: "lots"}}}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `Memory "lots"`) {
		t.Errorf("got %v, want an error naming Memory \"lots\"", err)
	}
	cfg.Nodes[0].Memory = "32Gi"
	if err := cfg.Validate(); err != nil {
		t.Errorf("valid capacity refused: %v", err)
	}
}
