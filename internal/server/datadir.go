package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"herd.dev/herd/internal/certs"
)

type dataDirInfo struct {
	Kind    string `json:"kind"`
	Version int    `json:"version"`
}

// checkDataDir creates DataDir or checks that this version of Herd wrote it.
func (s *Server) checkDataDir() error {
	dir := s.cfg.DataDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("failed to create --data-dir %s: %w", dir, err)
	}
	path := filepath.Join(dir, "herd-server.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		entries, _ := os.ReadDir(dir)
		if len(entries) > 0 {
			return fmt.Errorf("%w: --data-dir %s is not empty and was not written by herd server: choose another --data-dir", ErrConfig, dir)
		}
		data, _ = json.Marshal(dataDirInfo{Kind: "HerdServerData", Version: dataVersion})
		return certs.WriteFileAtomic(path, data, 0o600)
	}
	if err != nil {
		return err
	}
	var info dataDirInfo
	if err := json.Unmarshal(data, &info); err != nil || info.Kind != "HerdServerData" {
		return fmt.Errorf("%w: %s is unreadable: choose another --data-dir", ErrConfig, path)
	}
	if info.Version != dataVersion {
		return fmt.Errorf("%w: --data-dir %s has data layout version %d, this herd reads version %d: use the herd release that wrote it, or another --data-dir", ErrConfig, dir, info.Version, dataVersion)
	}
	return nil
}
