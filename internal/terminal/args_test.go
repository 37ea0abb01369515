package terminal

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		name, line string
		want       []string
		err        bool
	}{
		{"words", "get pods -A", []string{"get", "pods", "-A"}, false},
		{"kubectl dropped", "kubectl get pods", []string{"get", "pods"}, false},
		{"spaces", "  get\tpods  ", []string{"get", "pods"}, false},
		{"single quotes", `get pods -o 'jsonpath={.items[*].metadata.name}'`, []string{"get", "pods", "-o", "jsonpath={.items[*].metadata.name}"}, false},
		{"double quotes", `label pod p "note=a b" "q=\"x\""`, []string{"label", "pod", "p", "note=a b", `q="x"`}, false},
		{"backslash", `get pods -l app\ name`, []string{"get", "pods", "-l", "app name"}, false},
		{"empty quotes", `annotate pod p a=''`, []string{"annotate", "pod", "p", "a="}, false},
		{"no expansion", "get pods $(id) `id` ; rm -rf / | cat", []string{"get", "pods", "$(id)", "`id`", ";", "rm", "-rf", "/", "|", "cat"}, false},
		{"open single quote", "get 'pods", nil, true},
		{"open double quote", `get "pods`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Split(tt.line)
			if (err != nil) != tt.err {
				t.Fatalf("Split(%q) error %v, want error %v", tt.line, err, tt.err)
			}
			if !tt.err && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Split(%q) = %q, want %q", tt.line, got, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // "" allowed, else part of the refusal
	}{
		{"get", []string{"get", "pods", "-A"}, ""},
		{"logs", []string{"logs", "-n", "shop", "deploy/web", "--tail=10"}, ""},
		{"logs -f follows", []string{"logs", "-f", "web"}, ""},
		{"exec with its command's flags", []string{"exec", "web", "--", "ls", "-f", "--kubeconfig=x"}, ""},
		{"label selector attached", []string{"get", "pods", "-ltier=web"}, ""},
		{"raw", []string{"get", "--raw", "/readyz"}, ""},
		{"inline template", []string{"get", "pods", "-o", "go-template={{.kind}}"}, ""},
		{"nothing", nil, "type a kubectl command"},
		{"config", []string{"config", "view", "--raw"}, "kubectl config does not run"},
		{"cp", []string{"cp", "a:/etc/passwd", "/tmp/x"}, "kubectl cp does not run"},
		{"proxy", []string{"proxy"}, "kubectl proxy does not run"},
		{"port-forward", []string{"port-forward", "web", "80"}, "does not run"},
		{"plugin", []string{"plugin", "list"}, "does not run"},
		{"apply", []string{"apply", "-f", "x.yaml"}, "does not run"},
		{"kubeconfig", []string{"get", "pods", "--kubeconfig=/etc/herd/admin"}, "the terminal has its own"},
		{"kubeconfig apart", []string{"get", "pods", "--kubeconfig", "/etc/herd/admin"}, "the terminal has its own"},
		{"server", []string{"get", "pods", "-s", "https://evil"}, "only this cluster"},
		{"token", []string{"get", "pods", "--token=x"}, "commands run as you"},
		{"file", []string{"create", "-f", "/etc/passwd"}, "no files"},
		{"file joined", []string{"create", "-f/etc/passwd"}, "no files"},
		{"template file", []string{"get", "pods", "-o", "go-template-file=/etc/shadow"}, "no files"},
		{"jsonpath file", []string{"get", "pods", "-ojsonpath-file=/etc/shadow"}, "no files"},
		{"stdin", []string{"exec", "-it", "web", "--", "sh"}, "no stdin"},
		{"tty", []string{"exec", "-t", "web", "--", "sh"}, "no terminal"},
		{"dump to files", []string{"cluster-info", "dump", "--output-directory=/tmp/x"}, "no files"},
		{"edit", []string{"set", "image", "deploy/web", "--edit"}, "no editor"},
		{"log file", []string{"get", "pods", "--log-file=/tmp/x"}, "no files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.args)
			if tt.want == "" {
				if err != nil {
					t.Errorf("Check(%q) = %v, want allowed", tt.args, err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check(%q) = %v, want a refusal with %q", tt.args, err, tt.want)
			}
		})
	}
}
