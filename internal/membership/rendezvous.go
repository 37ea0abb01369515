package membership

import "hash/fnv"

// Owner picks, by rendezvous (highest random weight) hashing, which of
// replicas owns key: each replica scores every key independently, so a
// replica joining takes about 1/N of the keys from the others and a
// replica leaving hands only its own keys out, evenly. Empty when there
// are no replicas.
func Owner(replicas []string, key string) string {
	var best string
	var bestScore uint64
	for _, r := range replicas {
		if s := score(r, key); best == "" || s > bestScore || (s == bestScore && r < best) {
			best, bestScore = r, s
		}
	}
	return best
}

// score mixes FNV-1a of replica and key with a 64-bit finalizer, so that
// similar names still score independently.
func score(replica, key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(replica))
	h.Write([]byte{0})
	h.Write([]byte(key))
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
