package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Phases of an ExecSession.
const (
	// SessionRecording: the session runs and its recording grows.
	SessionRecording = "Recording"
	// SessionEnded: the session ended and its recording is complete
	// (up to what Truncated and LostBytes say).
	SessionEnded = "Ended"
)

// ExecSessionSpec says who ran what where: one `kubectl exec` or `attach`
// through Herd's proxy with stdin or a TTY.
type ExecSessionSpec struct {
	// User is the Herd user (its name) who ran the session; ImpersonatedUser
	// the user acted as with `kubectl --as`, if any.
	// +kubebuilder:validation:MaxLength=253
	User string `json:"user"`
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ImpersonatedUser string `json:"impersonatedUser,omitempty"`
	// Cluster, Namespace, Pod and Container name the target.
	// +kubebuilder:validation:MaxLength=63
	Cluster string `json:"cluster"`
	// +kubebuilder:validation:MaxLength=253
	Namespace string `json:"namespace"`
	// +kubebuilder:validation:MaxLength=253
	Pod string `json:"pod"`
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Container string `json:"container,omitempty"`
	// Kind is exec or attach.
	// +kubebuilder:validation:Enum=exec;attach
	Kind string `json:"kind"`
	// Command of an exec, as sent (at most 4 KiB in all).
	// +kubebuilder:validation:MaxItems=256
	// +optional
	Command []string `json:"command,omitempty"`
	// TTY and Stdin as the client asked.
	// +optional
	TTY bool `json:"tty,omitempty"`
	// +optional
	Stdin bool `json:"stdin,omitempty"`
	// Input says whether what the user typed is recorded too (the
	// server's --exec-recording-input); output always is.
	// +optional
	Input bool `json:"input,omitempty"`
	// Source is the client's address; Replica the Herd replica that
	// proxied the session.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Source string `json:"source,omitempty"`
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Replica string `json:"replica,omitempty"`
	// StartedAt is when the session began (to the microsecond: sessions
	// sort by it).
	StartedAt metav1.MicroTime `json:"startedAt"`
}

// ExecSessionStatus is the state of the recording.
type ExecSessionStatus struct {
	// Phase: Recording or Ended.
	// +optional
	Phase string `json:"phase,omitempty"`
	// EndedAt is when the session ended.
	// +optional
	EndedAt *metav1.Time `json:"endedAt,omitempty"`
	// Chunks is how many chunks of the recording are stored (Secrets
	// NAME-0, NAME-1, ... in herd-recordings); Bytes their size.
	// +optional
	Chunks int32 `json:"chunks,omitempty"`
	// +optional
	Bytes int64 `json:"bytes,omitempty"`
	// Truncated: the session produced more than the recording keeps
	// (--exec-recording-max-size); the rest was not recorded.
	// +optional
	Truncated bool `json:"truncated,omitempty"`
	// LostBytes is what could not be recorded because the recorder fell
	// behind or its storage refused it; the recording marks where.
	// +optional
	LostBytes int64 `json:"lostBytes,omitempty"`
	// Width and Height of the terminal, from the session's first resize.
	// +optional
	Width int32 `json:"width,omitempty"`
	// +optional
	Height int32 `json:"height,omitempty"`
}

// ExecSession is the recording of one interactive exec or attach through
// Herd, as asciicast v2: its metadata here, its content in Secrets of the
// namespace herd-recordings. Kept for the server's
// --exec-recording-retention.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:printcolumn:name="User",type=string,JSONPath=`.spec.user`
// +kubebuilder:printcolumn:name="Cluster",type=string,JSONPath=`.spec.cluster`
// +kubebuilder:printcolumn:name="Namespace",type=string,JSONPath=`.spec.namespace`
// +kubebuilder:printcolumn:name="Pod",type=string,JSONPath=`.spec.pod`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Bytes",type=integer,JSONPath=`.status.bytes`
// +kubebuilder:printcolumn:name="Started",type=date,JSONPath=`.spec.startedAt`
type ExecSession struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ExecSessionSpec `json:"spec"`
	// +optional
	Status ExecSessionStatus `json:"status,omitempty"`
}

// ExecSessionList is a list of ExecSessions.
//
// +kubebuilder:object:root=true
type ExecSessionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ExecSession `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ExecSession{}, &ExecSessionList{})
}
