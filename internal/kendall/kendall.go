// Package kendall measures how well an order is kept, for the fairness
// figures of a drop (package sale) and of a rush (package rush): Kendall's
// tau-a of a sequence against its index, in O(n log n) by counting
// inversions with a merge sort.
package kendall

import "slices"

// Tau is Kendall's tau-a of a against its index: 1 when a is in ascending
// order, -1 when reversed, about 0 when unrelated. Fewer than two values
// give 0. a is left as it is.
func Tau(a []int64) float64 {
	n := int64(len(a))
	if n < 2 {
		return 0
	}
	inv := inversions(slices.Clone(a), make([]int64, len(a)))
	pairs := n * (n - 1) / 2
	return float64(pairs-2*inv) / float64(pairs)
}

// inversions sorts a (buf is as long) and returns how many pairs were out
// of order.
func inversions(a, buf []int64) int64 {
	if len(a) < 2 {
		return 0
	}
	m := len(a) / 2
	n := inversions(a[:m], buf[:m]) + inversions(a[m:], buf[m:])
	i, j, k := 0, m, 0
	for i < m && j < len(a) {
		if a[i] <= a[j] {
			buf[k] = a[i]
			i++
		} else {
			buf[k] = a[j]
			n += int64(m - i)
			j++
		}
		k++
	}
	k += copy(buf[k:], a[i:m])
	copy(buf[k:], a[j:])
	copy(a, buf[:len(a)])
	return n
}
