package bundleapply

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"herd.dev/herd/internal/bundles"
)

// contentCacheSize is how many revisions a controller keeps unpacked.
const contentCacheSize = 8

// contentCache keeps unpacked content by Secret name: a content Secret
// holds one revision and never changes.
type contentCache struct {
	mu    sync.Mutex
	files map[string]map[string][]byte
	order []string
}

func (cc *contentCache) get(ctx context.Context, api client.Reader, namespace, name string) (map[string][]byte, error) {
	cc.mu.Lock()
	files, ok := cc.files[name]
	cc.mu.Unlock()
	if ok {
		return files, nil
	}
	var s corev1.Secret
	if err := api.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &s); err != nil {
		return nil, fmt.Errorf("failed to read the bundle's content %s: %w", name, err)
	}
	files, err := bundles.Unpack(s.Data[bundles.ContentKey])
	if err != nil {
		return nil, errorf("%v", err)
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.files == nil {
		cc.files = map[string]map[string][]byte{}
	}
	if len(cc.order) == contentCacheSize {
		delete(cc.files, cc.order[0])
		cc.order = cc.order[1:]
	}
	cc.files[name] = files
	cc.order = append(cc.order, name)
	return files, nil
}
