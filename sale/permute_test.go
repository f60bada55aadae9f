package sale

import (
	"fmt"
	"math"
	"testing"
)

func TestPermuteIsABijection(t *testing.T) {
	sizes := []uint64{}
	for n := uint64(0); n <= 300; n++ {
		sizes = append(sizes, n)
	}
	sizes = append(sizes, 1000, 1023, 1024, 1025, 4095, 4096, 4097, 65537, 100_003)
	for _, n := range sizes {
		seeds := 20
		if n > 5000 {
			seeds = 2
		}
		for s := range seeds {
			seed := uint64(s)*0x9E3779B97F4A7C15 + n
			seen := make([]bool, n)
			for i := uint64(0); i < n; i++ {
				p := Permute(seed, i, n)
				if p < 0 || uint64(p) >= n {
					t.Fatalf("Permute(%d, %d, %d) = %d, outside [0, n)", seed, i, n, p)
				}
				if seen[p] {
					t.Fatalf("Permute(seed %d, n %d) maps two indexes to %d", seed, n, p)
				}
				seen[p] = true
			}
		}
	}
	// Outside [0, n) the index is kept.
	if p := Permute(7, 12, 10); p != 12 {
		t.Fatalf("Permute(7, 12, 10) = %d, want 12", p)
	}
}

// chi2Critical is the chi-square value with df degrees of freedom that is
// exceeded with probability about Φ(-z) (Wilson–Hilferty approximation).
func chi2Critical(df int, z float64) float64 {
	k := float64(df)
	a := 2 / (9 * k)
	return k * math.Pow(1-a+z*math.Sqrt(a), 3)
}

// uniformityFaults places early arrivals with perm over many seeds and
// checks with a chi-square test that every arrival index lands in every
// position bucket about equally often (no arrival is favoured by being early
// to the early queue), and that index 0 comes before index 1 half of the
// time. Seeds are consecutive integers, harder on the mixing than random
// ones. The bound is z = 5 (p ≈ 3e-7 per check): a fair permutation passes,
// a biased one fails by orders of magnitude. It returns what failed.
func uniformityFaults(perm func(seed, i, n uint64) int64) []string {
	cases := []struct {
		n, buckets uint64
		seeds      int
	}{
		{n: 2, buckets: 2, seeds: 20000},
		{n: 7, buckets: 7, seeds: 20000},
		{n: 16, buckets: 16, seeds: 20000},
		{n: 1000, buckets: 10, seeds: 10000},
	}
	var faults []string
	for _, tc := range cases {
		indexes := []uint64{0, 1, tc.n / 2, tc.n - 1}
		counts := make([][]float64, len(indexes))
		for i := range counts {
			counts[i] = make([]float64, tc.buckets)
		}
		var before float64
		for seed := 0; seed < tc.seeds; seed++ {
			for k, i := range indexes {
				p := uint64(perm(uint64(seed), i, tc.n))
				counts[k][p*tc.buckets/tc.n]++
			}
			if perm(uint64(seed), 0, tc.n) < perm(uint64(seed), 1, tc.n) {
				before++
			}
		}
		// Bucket b holds the positions p with p*buckets/n == b.
		size := make([]float64, tc.buckets)
		for p := uint64(0); p < tc.n; p++ {
			size[p*tc.buckets/tc.n]++
		}
		limit := chi2Critical(int(tc.buckets)-1, 5)
		for k, i := range indexes {
			var chi2 float64
			for b := range size {
				want := float64(tc.seeds) * size[b] / float64(tc.n)
				d := counts[k][b] - want
				chi2 += d * d / want
			}
			if chi2 > limit {
				faults = append(faults, fmt.Sprintf("n=%d: index %d lands in position buckets %v: chi-square %.1f > %.1f", tc.n, i, counts[k], chi2, limit))
			}
		}
		pairs := float64(tc.seeds)
		if dev := math.Abs(before-pairs/2) / math.Sqrt(pairs/4); dev > 5 {
			faults = append(faults, fmt.Sprintf("n=%d: index 0 comes before index 1 in %.0f of %.0f seeds (%.1f sigma)", tc.n, before, pairs, dev))
		}
	}
	return faults
}

func TestPermuteIsUniform(t *testing.T) {
	for _, f := range uniformityFaults(Permute) {
		t.Error(f)
	}
}

// TestUniformityCheckCatchesBias makes sure the check above can fail: weak
// shuffles are rejected.
func TestUniformityCheckCatchesBias(t *testing.T) {
	weak := map[string]func(seed, i, n uint64) int64{
		"identity":       func(seed, i, n uint64) int64 { return int64(i) },
		"rotation":       func(seed, i, n uint64) int64 { return int64((i + seed) % n) },
		"small rotation": func(seed, i, n uint64) int64 { return int64((i + seed%3) % n) },
	}
	for name, perm := range weak {
		if len(uniformityFaults(perm)) == 0 {
			t.Errorf("the %s passed the uniformity check", name)
		}
	}
}
