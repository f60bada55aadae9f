package sale

// Permute maps i in [0, n) to a position in [0, n), a different bijection for
// every seed. It places the early arrivals of a drop in random order at the
// start without storing one byte per visitor: a ticket keeps its arrival
// index, and its position is computed from the drop's seed when asked.
//
// It is a balanced Feistel network over the smallest even power of two that
// holds n, with cycle walking to stay inside [0, n).
func Permute(seed, i, n uint64) int64 {
	if n <= 1 || i >= n {
		return int64(i)
	}
	bits := 2
	for (uint64(1) << bits) < n {
		bits += 2
	}
	half := bits / 2
	mask := uint64(1)<<half - 1
	x := i
	for {
		l, r := x>>half, x&mask
		for round := uint64(0); round < 6; round++ {
			l, r = r, l^(mix(seed^(round*0x9E3779B97F4A7C15)^r)&mask)
		}
		x = l<<half | r
		if x < n {
			return int64(x)
		}
	}
}

// mix is the splitmix64 finalizer: a fast, well-distributed hash.
func mix(z uint64) uint64 {
	z += 0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}
