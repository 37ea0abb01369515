package terminal

import (
	"errors"
	"fmt"
	"strings"
)

// ErrRefused prefixes command lines the terminal does not run.
var ErrRefused = errors.New("terminal: refused")

// MaxLine is the longest command line the terminal reads.
const MaxLine = 4096

// Split splits a command line into words as a POSIX shell would, without
// expanding anything: 'single' and "double" quotes group words, a
// backslash escapes the next character (in double quotes only before
// ", \ and $). A leading "kubectl" is dropped.
func Split(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("%w: a ' is not closed", ErrRefused)
			}
			cur.WriteString(line[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case c == '"':
			j := i + 1
			for ; j < len(line) && line[j] != '"'; j++ {
				if line[j] == '\\' && j+1 < len(line) && strings.IndexByte(`"\$`, line[j+1]) >= 0 {
					j++
				}
				cur.WriteByte(line[j])
			}
			if j >= len(line) {
				return nil, fmt.Errorf("%w: a \" is not closed", ErrRefused)
			}
			i = j
			inWord = true
		case c == '\\':
			if i+1 < len(line) {
				i++
				cur.WriteByte(line[i])
			}
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	if len(words) > 0 && words[0] == "kubectl" {
		words = words[1:]
	}
	return words, nil
}

// verbs are the kubectl commands the terminal runs: those that work
// without local files, an editor, stdin or a port on the server.
var verbs = map[string]bool{
	"get": true, "describe": true, "logs": true, "top": true, "explain": true, "api-resources": true, "api-versions": true,
	"version": true, "cluster-info": true, "auth": true, "events": true, "create": true, "delete": true, "scale": true,
	"rollout": true, "label": true, "annotate": true, "expose": true, "run": true, "set": true, "cordon": true,
	"uncordon": true, "drain": true, "taint": true, "exec": true, "wait": true, "patch": true, "autoscale": true,
}

// refusedFlags reach outside the cluster the terminal is for, read or
// write the server's files, or need stdin or a terminal; the value is
// why, for the message.
var refusedFlags = map[string]string{
	"kubeconfig": "the terminal has its own", "server": "the terminal reaches only this cluster", "s": "the terminal reaches only this cluster",
	"token": "commands run as you", "username": "commands run as you", "password": "commands run as you",
	"certificate-authority": "the terminal has its own", "client-certificate": "commands run as you", "client-key": "commands run as you",
	"insecure-skip-tls-verify": "the terminal has its own", "tls-server-name": "the terminal has its own",
	"context": "the terminal has one context", "cluster": "the terminal has one cluster", "user": "commands run as you",
	"filename": "there are no files here", "f": "there are no files here", "kustomize": "there are no files here", "k": "there are no files here",
	"cache-dir": "there are no files here", "log-file": "there are no files here", "log-dir": "there are no files here",
	"output-directory": "there are no files here", "profile": "there are no files here", "profile-output": "there are no files here",
	"stdin": "there is no stdin here", "i": "there is no stdin here", "tty": "there is no terminal here", "t": "there is no terminal here",
	"attach": "there is no stdin here", "edit": "there is no editor here",
}

// Check refuses what the terminal does not run (see verbs and
// refusedFlags), with a message that says why. Arguments after "--"
// (the command of exec) are not kubectl's and are not checked.
func Check(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: type a kubectl command, such as get pods -A", ErrRefused)
	}
	if !verbs[args[0]] {
		return fmt.Errorf("%w: kubectl %s does not run in the web terminal (it runs: get, describe, logs, exec, ...); use kubectl with a kubeconfig from the console", ErrRefused, args[0])
	}
	for _, a := range args[1:] {
		if a == "--" {
			break
		}
		if strings.Contains(a, "template-file") || strings.Contains(a, "jsonpath-file") {
			return fmt.Errorf("%w: %s does not work in the web terminal: there are no files here", ErrRefused, a)
		}
		name, ok := flagName(a)
		if !ok {
			continue
		}
		if name == "f" && args[0] == "logs" {
			continue // -f of logs is --follow
		}
		if why, refused := refusedFlags[name]; refused {
			return fmt.Errorf("%w: %s does not work in the web terminal: %s", ErrRefused, a, why)
		}
	}
	return nil
}

// flagName is the name of a flag argument: "--name", "--name=value",
// "-n", or the first letter of "-abc" (short flags joined, or a value
// attached: -it, -lapp=web).
func flagName(a string) (string, bool) {
	switch {
	case strings.HasPrefix(a, "--") && len(a) > 2:
		name, _, _ := strings.Cut(a[2:], "=")
		return name, true
	case strings.HasPrefix(a, "-") && len(a) > 1:
		return a[1:2], true
	}
	return "", false
}
