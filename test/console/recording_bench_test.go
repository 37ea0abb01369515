package console

import (
	"io"
	"os/exec"
	"testing"

	"herd.dev/herd/internal/localcluster"
	"herd.dev/herd/internal/recording"
)

// BenchmarkExecKeystroke measures the round trip of one keystroke in an
// interactive `kubectl exec -i` through Herd (kubectl's WebSocket
// protocol, the agent's tunnel, the downstream kube-apiserver and kwok's
// exec of cat, which sends it straight back), with exec recording off and
// on (input recorded too): what recording adds to interactive echo.
func BenchmarkExecKeystroke(b *testing.B) {
	for _, policy := range []recording.Policy{recording.Off, recording.On} {
		b.Run("recording="+string(policy), func(b *testing.B) {
			e := startRecordingEnv(b, policy)
			cmd := exec.Command(localcluster.KubectlPath(""), "--kubeconfig="+e.kubectl.Kubeconfig, "-n", "rec", "exec", "-i", e.pod, "--", "cat")
			stdin, err := cmd.StdinPipe()
			if err != nil {
				b.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				b.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			key, echo := []byte{'k'}, make([]byte, 1)
			roundTrip := func() {
				if _, err := stdin.Write(key); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(stdout, echo); err != nil || echo[0] != 'k' {
					b.Fatalf("echo %q: %v", echo, err)
				}
			}
			for range 20 { // the session is up and warm
				roundTrip()
			}
			b.ResetTimer()
			for b.Loop() {
				roundTrip()
			}
		})
	}
}
