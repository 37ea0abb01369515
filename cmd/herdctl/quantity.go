package main

import (
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"herd.dev/herd/internal/herdapi"
)

// usage is the requested/allocatable amount of one resource of a cluster,
// such as "1.5/4" cpu, with capacity when allocatable is unknown; "" when
// the cluster reports neither.
func usage(c herdapi.Cluster, name string) string {
	total := c.Allocatable[name]
	if total == "" {
		total = c.Capacity[name]
	}
	requested := c.Requested[name]
	if total == "" && requested == "" {
		return ""
	}
	return quantity(name, requested) + "/" + quantity(name, total)
}

// resourceNames lists the resources any of the cluster's maps has: cpu,
// memory and pods first, the rest sorted.
func resourceNames(c herdapi.Cluster) []string {
	var names []string
	for _, m := range []map[string]string{c.Capacity, c.Allocatable, c.Requested} {
		for name := range m {
			if !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		if ra, rb := resourceRank(a), resourceRank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	return names
}

// resourceRank orders cpu, memory and pods before the other resources.
func resourceRank(name string) int {
	switch name {
	case "cpu":
		return 0
	case "memory":
		return 1
	case "pods":
		return 2
	}
	return 3
}

// quantity formats a Kubernetes quantity for people: cpu in cores ("0.25",
// "4"), pods as a count, anything else in binary units ("15.6Gi"). A value
// that does not parse shows as is; an empty one as "-".
func quantity(name, s string) string {
	if s == "" {
		return "-"
	}
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return s
	}
	switch name {
	case "cpu":
		return decimal(float64(q.MilliValue())/1000, 2)
	case "pods":
		return strconv.FormatInt(q.Value(), 10)
	}
	return binary(q.Value())
}

// binary writes n in the largest binary unit it reaches, with one decimal.
func binary(n int64) string {
	const units = "KMGTPE"
	if n < 1024 && n > -1024 {
		return strconv.FormatInt(n, 10)
	}
	v, unit := float64(n)/1024, 0
	for (v >= 1024 || v <= -1024) && unit < len(units)-1 {
		v, unit = v/1024, unit+1
	}
	return decimal(v, 1) + units[unit:unit+1] + "i"
}

// decimal formats f with at most places decimals and no trailing zeros.
func decimal(f float64, places int) string {
	s := strconv.FormatFloat(f, 'f', places, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
