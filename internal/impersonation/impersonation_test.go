package impersonation

import "testing"

func TestSubjectKey(t *testing.T) {
	base := Subject{User: "u-1", Groups: []string{"a", "b"}, Principals: []string{"local://u-1"}, Username: "alice"}
	tests := []struct {
		name string
		s    Subject
	}{
		{"groups joined", Subject{User: "u-1", Groups: []string{"a:b"}, Principals: base.Principals, Username: "alice"}},
		{"group moved to principals", Subject{User: "u-1", Groups: []string{"a"}, Principals: []string{"b", "local://u-1"}, Username: "alice"}},
		{"groups reordered", Subject{User: "u-1", Groups: []string{"b", "a"}, Principals: base.Principals, Username: "alice"}},
		{"user and username swapped", Subject{User: "alice", Groups: base.Groups, Principals: base.Principals, Username: "u-1"}},
		{"one group fewer", Subject{User: "u-1", Groups: []string{"a"}, Principals: base.Principals, Username: "alice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, other := subjectKey(tt.s), subjectKey(base); got == other {
				t.Errorf("got the same key %q for %+v and %+v, want different keys", got, tt.s, base)
			}
		})
	}
	if got, want := subjectKey(base), subjectKey(Subject{User: "u-1", Groups: []string{"a", "b"}, Principals: []string{"local://u-1"}, Username: "alice"}); got != want {
		t.Errorf("equal subjects: got %q and %q, want equal keys", got, want)
	}
}
