// Package gitsource reads a directory of a Git repository over HTTP(S):
// which commit a branch or tag is at, and the files under a path at that
// commit. It keeps nothing on disk: a shallow fetch into memory, bounded
// in size and time.
package gitsource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"
)

// Errors of a fetch, for callers to tell a user what to fix.
var (
	ErrRefNotFound  = errors.New("gitsource: no branch or tag of that name")
	ErrPathNotFound = errors.New("gitsource: the path is not a directory at that commit")
	ErrTooLarge     = errors.New("gitsource: the directory is larger than allowed")
	ErrAuth         = errors.New("gitsource: the server refused the credentials")
)

// Source is a directory of a repository at a branch or tag.
type Source struct {
	// Repo is the http:// or https:// URL.
	Repo string
	// Ref is a branch or tag; "": main.
	Ref string
	// Path is the directory; "": the root.
	Path string
	// Username and Password authenticate (HTTP basic); both "": none.
	Username, Password string
	// CABundle is PEM the server's certificate must chain to; nil: the
	// system's roots.
	CABundle []byte
}

// Limits on what a fetch may read.
const (
	// MaxFiles and MaxBytes bound the directory read.
	MaxFiles = 500
	MaxBytes = 4 << 20
	// timeout bounds one ls-remote or fetch.
	timeout = 60 * time.Second
)

func (s Source) ref() string {
	if s.Ref == "" {
		return "main"
	}
	return s.Ref
}

func (s Source) auth() transport.AuthMethod {
	if s.Username == "" && s.Password == "" {
		return nil
	}
	user := s.Username
	if user == "" {
		user = "git" // a token as the password
	}
	return &githttp.BasicAuth{Username: user, Password: s.Password}
}

func (s Source) check() error {
	if !strings.HasPrefix(s.Repo, "http://") && !strings.HasPrefix(s.Repo, "https://") {
		return fmt.Errorf("gitsource: repository %q: only http:// and https:// URLs are supported", redact(s.Repo))
	}
	if u, err := url.Parse(s.Repo); err != nil || u.User != nil || u.Host == "" {
		return fmt.Errorf("gitsource: repository %q: give a URL with a host and no credentials in it", redact(s.Repo))
	}
	if slices.Contains(strings.Split(s.Path, "/"), "..") {
		return fmt.Errorf("gitsource: path %q: \"..\" is not allowed", s.Path)
	}
	return nil
}

// Resolve returns the commit the ref is at (ls-remote): the branch of
// that name, else the tag (peeled to its commit).
func (s Source) Resolve(ctx context.Context) (plumbing.Hash, plumbing.ReferenceName, error) {
	if err := s.check(); err != nil {
		return plumbing.ZeroHash, "", err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	remote := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{s.Repo}})
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: s.auth(), CABundle: s.CABundle, PeelingOption: git.AppendPeeled})
	if err != nil {
		return plumbing.ZeroHash, "", classify(err)
	}
	byName := map[plumbing.ReferenceName]plumbing.Hash{}
	for _, r := range refs {
		if r.Type() == plumbing.HashReference {
			byName[r.Name()] = r.Hash()
		}
	}
	branch, tag := plumbing.NewBranchReferenceName(s.ref()), plumbing.NewTagReferenceName(s.ref())
	if h, ok := byName[branch]; ok {
		return h, branch, nil
	}
	if h, ok := byName[plumbing.ReferenceName(string(tag)+"^{}")]; ok { // an annotated tag's commit
		return h, tag, nil
	}
	if h, ok := byName[tag]; ok {
		return h, tag, nil
	}
	return plumbing.ZeroHash, "", fmt.Errorf("%w: %q in %s", ErrRefNotFound, s.ref(), s.Repo)
}

// Files fetches ref (depth 1) and returns the files under Path at commit
// want, by their path relative to Path. When the ref has moved past want
// since Resolve, it returns what the ref is at now and that commit.
func (s Source) Files(ctx context.Context, ref plumbing.ReferenceName) (map[string][]byte, plumbing.Hash, error) {
	if err := s.check(); err != nil {
		return nil, plumbing.ZeroHash, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	repo, err := git.CloneContext(ctx, memory.NewStorage(), nil, &git.CloneOptions{
		URL: s.Repo, Auth: s.auth(), CABundle: s.CABundle, ReferenceName: ref, SingleBranch: true, Depth: 1,
		NoCheckout: true, Tags: git.NoTags,
	})
	if err != nil {
		return nil, plumbing.ZeroHash, classify(err)
	}
	head, err := repo.Head()
	if err != nil {
		return nil, plumbing.ZeroHash, fmt.Errorf("gitsource: %s has no commit at %s: %w", s.Repo, ref, err)
	}
	commit, err := repo.CommitObject(head.Hash())
	if err != nil {
		return nil, plumbing.ZeroHash, fmt.Errorf("gitsource: read commit %s: %w", head.Hash(), err)
	}
	tree, err := commit.Tree()
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	if dir := strings.Trim(s.Path, "/"); dir != "" && dir != "." {
		if tree, err = tree.Tree(dir); err != nil {
			return nil, plumbing.ZeroHash, fmt.Errorf("%w: %q at %s", ErrPathNotFound, s.Path, head.Hash().String()[:12])
		}
	}
	files, err := readTree(tree)
	return files, head.Hash(), err
}

// readTree reads every regular file of tree, within the limits.
func readTree(tree *object.Tree) (map[string][]byte, error) {
	files := map[string][]byte{}
	total := 0
	err := tree.Files().ForEach(func(f *object.File) error {
		if !f.Mode.IsFile() {
			return nil
		}
		if len(files) == MaxFiles {
			return fmt.Errorf("%w: more than %d files", ErrTooLarge, MaxFiles)
		}
		total += int(f.Size)
		if total > MaxBytes {
			return fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxBytes)
		}
		r, err := f.Reader()
		if err != nil {
			return err
		}
		defer r.Close()
		b, err := io.ReadAll(io.LimitReader(r, MaxBytes))
		if err != nil {
			return err
		}
		files[f.Name] = b
		return nil
	})
	return files, err
}

// redact drops what could be credentials from a URL for messages.
func redact(repo string) string {
	if u, err := url.Parse(repo); err == nil && u.User != nil {
		u.User = url.User("REDACTED")
		return u.String()
	}
	return repo
}

// classify names the errors a user can act on; others keep their text.
func classify(err error) error {
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		return fmt.Errorf("%w: %v", ErrAuth, err)
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return fmt.Errorf("gitsource: %w", err)
	case errors.Is(err, plumbing.ErrReferenceNotFound), errors.Is(err, git.NoMatchingRefSpecError{}):
		return fmt.Errorf("%w: %v", ErrRefNotFound, err)
	}
	return fmt.Errorf("gitsource: %w", err)
}
