package main

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sync"

	"github.com/zitadel/oidc/v3/example/server/storage"
	"golang.org/x/text/language"
)

// userStore is the example's storage.UserStore with groups, and users that
// can change or go away while the provider runs.
type userStore struct {
	mu         sync.Mutex
	users      map[string]*storage.User // by id
	userGroups map[string][]string      // by id
}

var _ storage.UserStore = (*userStore)(nil)

func newUserStore(users []userConfig) *userStore {
	s := &userStore{users: map[string]*storage.User{}, userGroups: map[string][]string{}}
	for _, u := range users {
		s.users[u.ID] = &storage.User{
			ID: u.ID, Username: u.Username, Password: u.Password,
			FirstName: u.First, LastName: u.Last,
			Email: u.Email, EmailVerified: true,
			PreferredLanguage: language.English,
		}
		s.userGroups[u.ID] = slices.Clone(u.Groups)
	}
	return s
}

func (s *userStore) GetUserByID(id string) *storage.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users[id]
}

func (s *userStore) GetUserByUsername(name string) *storage.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.Username == name {
			return u
		}
	}
	return nil
}

// ExampleClientID names the example's JWT-profile service user.
func (s *userStore) ExampleClientID() string { return storage.ServiceUserID }

func (s *userStore) groups(id string) ([]string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[id]; !ok {
		return nil, false
	}
	return slices.Clone(s.userGroups[id]), true
}

// controlHandler serves the test control API:
//
//	PUT    /herdtest/users/{username}/groups   body: JSON list of groups
//	DELETE /herdtest/users/{username}
func (s *userStore) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /herdtest/users/{name}/groups", func(w http.ResponseWriter, r *http.Request) {
		var groups []string
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&groups); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		for id, u := range s.users {
			if u.Username == r.PathValue("name") {
				s.userGroups[id] = groups
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		http.NotFound(w, r)
	})
	mux.HandleFunc("DELETE /herdtest/users/{name}", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		for id, u := range s.users {
			if u.Username == r.PathValue("name") {
				delete(s.users, id)
				delete(s.userGroups, id)
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		http.NotFound(w, r)
	})
	return mux
}
