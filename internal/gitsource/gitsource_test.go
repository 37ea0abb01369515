package gitsource_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"herd.dev/herd/internal/gitsource"
	"herd.dev/herd/internal/herdtest"
)

func TestSource(t *testing.T) {
	g := herdtest.StartGitServer(t, "deploy", "s3cret")
	first := g.Commit(t, "first", map[string]string{"app/a.yaml": "a: 1\n", "app/sub/b.yaml": "b: 2\n", "other/c.yaml": "c"})
	g.Tag(t, "v1")
	second := g.Commit(t, "second", map[string]string{"app/a.yaml": "a: 2\n"})
	ctx := context.Background()
	src := gitsource.Source{Repo: g.URL, Path: "app", Username: "deploy", Password: "s3cret"}

	head, ref, err := src.Resolve(ctx)
	if err != nil || head.String() != second || ref != "refs/heads/main" {
		t.Fatalf("Resolve main = %s %s %v, want %s", head, ref, err, second)
	}
	files, at, err := src.Files(ctx, ref)
	if err != nil || at.String() != second {
		t.Fatalf("Files = %v at %s, want at %s", err, at, second)
	}
	if len(files) != 2 || string(files["a.yaml"]) != "a: 2\n" || string(files["sub/b.yaml"]) != "b: 2\n" {
		t.Errorf("files = %q, want a.yaml and sub/b.yaml of the second commit", files)
	}

	tagged := src
	tagged.Ref = "v1"
	head, ref, err = tagged.Resolve(ctx)
	if err != nil || head.String() != first || ref != "refs/tags/v1" {
		t.Fatalf("Resolve v1 = %s %s %v, want %s", head, ref, err, first)
	}
	if files, _, err := tagged.Files(ctx, ref); err != nil || string(files["a.yaml"]) != "a: 1\n" {
		t.Errorf("Files at v1 = %q %v, want a: 1", files, err)
	}

	for _, tc := range []struct {
		name string
		src  gitsource.Source
		want error
	}{
		{"wrong password", gitsource.Source{Repo: g.URL, Username: "deploy", Password: "nope"}, gitsource.ErrAuth},
		{"no credentials", gitsource.Source{Repo: g.URL}, gitsource.ErrAuth},
		{"no such branch", gitsource.Source{Repo: g.URL, Ref: "nope", Username: "deploy", Password: "s3cret"}, gitsource.ErrRefNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := tc.src.Resolve(ctx); !errors.Is(err, tc.want) {
				t.Errorf("Resolve: %v, want %v", err, tc.want)
			}
		})
	}
	missing := src
	missing.Path = "nope"
	if _, _, err := missing.Files(ctx, "refs/heads/main"); !errors.Is(err, gitsource.ErrPathNotFound) {
		t.Errorf("Files of a missing path: %v, want ErrPathNotFound", err)
	}
	if _, _, err := (gitsource.Source{Repo: "file:///etc"}).Resolve(ctx); err == nil {
		t.Error("a file:// repository was accepted")
	}
	withUser := "http://deploy:s3cret@" + strings.TrimPrefix(g.URL, "http://")
	if _, _, err := (gitsource.Source{Repo: withUser}).Resolve(ctx); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("credentials in the URL: %v, want refused without showing them", err)
	}
	if _, _, err := (gitsource.Source{Repo: g.URL, Path: "../x"}).Resolve(ctx); err == nil {
		t.Error("a path with .. was accepted")
	}
}
