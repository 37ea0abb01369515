package tunnel

import "testing"

func TestBaselineTmpLeak(t *testing.T) {
	warmUp(t)
	before := snapshot(t)
	r := testing.Benchmark(func(b *testing.B) {
		b.Run("bulk", BenchmarkRemotedialerBulk)
		b.Run("stall", BenchmarkRemotedialerSmallRequestsWithStalledStream)
	})
	t.Log(r)
	waitSettled(t, "after remotedialer benchmarks", before)
	t.Log(before, snapshot(t))
}
