package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"sigs.k8s.io/yaml"
)

// Output formats of -o.
const (
	formatTable = "table"
	formatJSON  = "json"
	formatYAML  = "yaml"
)

var formats = []string{formatTable, formatJSON, formatYAML}

func checkFormat(format string) error {
	for _, f := range formats {
		if format == f {
			return nil
		}
	}
	return fmt.Errorf("unknown output format %q: use one of %s", format, strings.Join(formats, ", "))
}

// print writes v as JSON or YAML, or calls table with a tab writer.
func (a *app) print(v any, table func(w io.Writer)) error {
	switch a.output {
	case formatJSON:
		data, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(a.stdout, "%s\n", data)
		return err
	case formatYAML:
		data, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = a.stdout.Write(data)
		return err
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 8, 3, ' ', 0)
	table(tw)
	return tw.Flush()
}

// tableMode says whether the human format is chosen, for commands whose
// table output differs in more than layout.
func (a *app) tableMode() bool { return a.output == formatTable }

// row writes one tab-separated table row; empty cells show as "-".
func row(w io.Writer, cells ...string) {
	for i, c := range cells {
		if c == "" {
			cells[i] = "-"
		}
	}
	fmt.Fprintln(w, strings.Join(cells, "\t"))
}

// age is how long ago t was, as kubectl shows it ("-" for no time).
func age(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return human(now.Sub(t))
}

// until is how long until t, or "expired".
func until(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	if !t.After(now) {
		return "expired"
	}
	return "in " + human(t.Sub(now))
}

// human rounds d to one unit: 45s, 12m, 5h, 3d, 2y.
func human(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < 2*time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < 2*time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	case d < 2*365*24*time.Hour:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
	return fmt.Sprintf("%dy", int(d.Hours()/24/365))
}

// fields writes the "Name:<tab>value" lines of a detail view, name and
// value alternating; empty values show as "-".
func fields(w io.Writer, kv ...string) {
	for i := 0; i+1 < len(kv); i += 2 {
		value := kv[i+1]
		if value == "" {
			value = "-"
		}
		fmt.Fprintf(w, "%s:\t%s\n", kv[i], value)
	}
}

// list writes a field whose values go one a line, aligned under the first.
func list(w io.Writer, name string, values []string) {
	if len(values) == 0 {
		fields(w, name, "")
		return
	}
	for i, v := range values {
		if i == 0 {
			fmt.Fprintf(w, "%s:\t%s\n", name, v)
		} else {
			fmt.Fprintf(w, "\t%s\n", v)
		}
	}
}

// compact joins values with commas, naming at most limit of them and
// counting the rest: "a,b,c +2 more".
func compact(values []string, limit int) string {
	if len(values) <= limit {
		return strings.Join(values, ",")
	}
	return fmt.Sprintf("%s +%d more", strings.Join(values[:limit], ","), len(values)-limit)
}
