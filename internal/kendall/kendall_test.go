package kendall

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// bruteTau counts discordant pairs one by one.
func bruteTau(a []int64) float64 {
	n := len(a)
	if n < 2 {
		return 0
	}
	var concordant, discordant int
	for i := range n {
		for j := i + 1; j < n; j++ {
			if a[i] <= a[j] {
				concordant++
			} else {
				discordant++
			}
		}
	}
	return float64(concordant-discordant) / float64(n*(n-1)/2)
}

func TestTau(t *testing.T) {
	for _, tc := range []struct {
		a    []int64
		want float64
	}{
		{nil, 0}, {[]int64{7}, 0},
		{[]int64{0, 1, 2, 3}, 1}, {[]int64{3, 2, 1, 0}, -1},
		{[]int64{1, 0, 2, 3}, 4.0 / 6},
	} {
		if got := Tau(tc.a); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("Tau(%v) = %v, want %v", tc.a, got, tc.want)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		a := make([]int64, r.IntN(60))
		for i := range a {
			a[i] = r.Int64N(40)
		}
		before := slices.Clone(a)
		if got, want := Tau(a), bruteTau(a); math.Abs(got-want) > 1e-12 {
			t.Fatalf("Tau(%v) = %v, brute force %v", a, got, want)
		}
		if !slices.Equal(a, before) {
			t.Fatalf("Tau changed its argument: %v, was %v", a, before)
		}
	}
}
