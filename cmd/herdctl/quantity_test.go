package main

import (
	"testing"

	"herd.dev/herd/internal/herdapi"
)

func TestQuantity(t *testing.T) {
	tests := []struct {
		name, resource, value, want string
	}{
		{"whole cores", "cpu", "4", "4"},
		{"millicores", "cpu", "250m", "0.25"},
		{"millicores round", "cpu", "3333m", "3.33"},
		{"pods", "pods", "110", "110"},
		{"kibibytes to gibibytes", "memory", "16318844Ki", "15.6Gi"},
		{"decimal units", "memory", "1G", "953.7Mi"},
		{"bytes", "memory", "512", "512"},
		{"other resources in binary units", "ephemeral-storage", "100Gi", "100Gi"},
		{"not a quantity", "memory", "lots", "lots"},
		{"empty", "cpu", "", "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := quantity(tt.resource, tt.value); got != tt.want {
				t.Errorf("quantity(%q, %q): got %q, want %q", tt.resource, tt.value, got, tt.want)
			}
		})
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name    string
		cluster herdapi.Cluster
		want    string
	}{
		{"nothing reported", herdapi.Cluster{}, ""},
		{"requested of allocatable", herdapi.Cluster{Allocatable: map[string]string{"cpu": "4"}, Capacity: map[string]string{"cpu": "8"}, Requested: map[string]string{"cpu": "500m"}}, "0.5/4"},
		{"capacity without allocatable", herdapi.Cluster{Capacity: map[string]string{"cpu": "8"}}, "-/8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := usage(tt.cluster, "cpu"); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
