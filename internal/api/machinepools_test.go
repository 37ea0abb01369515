package api

import (
	"fmt"
	"strings"
	"testing"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/herdapi"
)

func TestSetPool(t *testing.T) {
	cp := v1.MachinePool{Name: "cp", Quantity: 3, Roles: []string{"etcd", "control-plane"}, Driver: "local"}
	many := make([]v1.MachinePool, maxPools)
	for i := range many {
		many[i] = v1.MachinePool{Name: fmt.Sprintf("p%d", i), Quantity: 1, Roles: []string{"worker"}, Driver: "local"}
	}
	for _, tt := range []struct {
		name  string
		pools []v1.MachinePool
		req   herdapi.MachinePool
		want  string // the pools as name=quantity, or the error's words
	}{
		{"scale", []v1.MachinePool{cp}, herdapi.MachinePool{Name: "cp", Quantity: 5}, "cp=5"},
		{"scale to zero", []v1.MachinePool{cp}, herdapi.MachinePool{Name: "cp", Quantity: 0}, "cp=0"},
		{"same roles given", []v1.MachinePool{cp}, herdapi.MachinePool{Name: "cp", Quantity: 1, Roles: []string{"etcd", "control-plane"}}, "cp=1"},
		{"add", []v1.MachinePool{cp}, herdapi.MachinePool{Name: "w", Quantity: 2, Roles: []string{"worker"}}, "cp=3 w=2"},
		{"new pool without roles", []v1.MachinePool{cp}, herdapi.MachinePool{Name: "w", Quantity: 2}, "needs roles"},
		{"other roles", []v1.MachinePool{cp}, herdapi.MachinePool{Name: "cp", Quantity: 2, Roles: []string{"worker"}}, "do not change"},
		{"too many", []v1.MachinePool{cp}, herdapi.MachinePool{Name: "cp", Quantity: 51}, "between 0 and 50"},
		{"a seventeenth pool", many, herdapi.MachinePool{Name: "x", Quantity: 1, Roles: []string{"worker"}}, "at most 16"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := fmt.Sprint(tt.pools)
			got, msg := setPool(tt.pools, tt.req)
			if msg == "" {
				var parts []string
				for _, p := range got {
					parts = append(parts, fmt.Sprintf("%s=%d", p.Name, p.Quantity))
				}
				msg = strings.Join(parts, " ")
			}
			if (strings.Contains(tt.want, "=") && msg != tt.want) || !strings.Contains(msg, tt.want) {
				t.Errorf("got %q, want %q", msg, tt.want)
			}
			if fmt.Sprint(tt.pools) != before {
				t.Errorf("the stored pools were changed in place")
			}
		})
	}
}
