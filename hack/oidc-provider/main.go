// Command oidc-provider is a real OpenID Connect provider for Herd's tests:
// the OpenID-certified example server of github.com/zitadel/oidc (its
// exampleop login UI and storage), with the clients and users (and their
// groups) read from a JSON file, an issuer on a loopback port of its own
// choosing, and a small control API under /herdtest/ to change a user's
// groups or delete the user while it runs.
//
// It listens on -listen (default 127.0.0.1:0), and once it serves writes
// its issuer URL to -ready-file. internal/herdtest builds and runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "oidc-provider:", err)
		os.Exit(1)
	}
}

func run() error {
	configFile := flag.String("config", "", "JSON file with the clients and users")
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	readyFile := flag.String("ready-file", "", "file to write the issuer URL to once serving")
	flag.Parse()
	if *configFile == "" {
		return errors.New("-config is required")
	}
	cfg, err := readConfig(*configFile)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	issuer := "http://" + ln.Addr().String()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	users := newUserStore(cfg.Users)
	store := &groupStorage{Storage: storage.NewStorageWithClients(users, cfg.storageClients()), users: users, clients: cfg.clientOptions()}
	router := exampleop.SetupServer(issuer, store, log, false)
	mux := http.NewServeMux()
	mux.Handle("/herdtest/", users.controlHandler())
	mux.Handle("/", router)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Handler: mux}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if *readyFile != "" {
		if err := writeReady(*readyFile, issuer); err != nil {
			return err
		}
	}
	log.Info("serving", "issuer", issuer)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// writeReady writes the issuer to path atomically, so a reader never sees
// half of it.
func writeReady(path, issuer string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(issuer), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
