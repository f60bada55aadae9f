package sale

import "slices"

// QueueView returns an immutable copy of what a ticket's queue status reads
// of d (queue.StatusOf: the counters, Position, Ahead, Unresolved), so that
// status can be answered without the state's lock: the store publishes one
// per drop after each applied batch. prev is the view published before; it
// is returned as is when none of what status reads changed. The view is
// derived data, never part of the state or its snapshots, and nothing in it
// is written after it is returned: Gaps are copied, Batches copied with
// contiguous steps merged (the same positions, the same count of
// unresolved admissions), and EarlySkip shares the state's array from the
// first step inside its window on (the state never writes an element of
// it in place, see forgetEarlySkip).
func (d *Drop) QueueView(prev *Drop) *Drop {
	below := d.AdmittedUpTo
	if len(d.Batches) > 0 {
		below = min(below, d.Batches[0].From)
	}
	skip := d.EarlySkip[d.earlySkipFrom(below):]
	if prev != nil && sameQueueView(prev, d, skip) {
		return prev
	}
	v := &Drop{
		Spec: DropSpec{ID: d.Spec.ID, Stock: d.Spec.Stock, StartsAt: d.Spec.StartsAt, AdmitPerSecond: d.Spec.AdmitPerSecond,
			PerCustomerLimit: d.Spec.PerCustomerLimit, FairSpec: FairSpec{Mode: d.Spec.Mode}}, // limit.go: units a visitor may take
		Available:       d.Available,
		Held:            d.Held,
		Sold:            d.Sold,
		Closed:          d.Closed,
		AwaitingPayment: d.AwaitingPayment,
		Started:         d.Started,
		Seed:            d.Seed,
		EarlyTotal:      d.EarlyTotal,
		LateNext:        d.LateNext,
		Issued:          d.Issued,
		AdmittedUpTo:    d.AdmittedUpTo,
		Gaps:            slices.Clone(d.Gaps),
		Paused:          d.Paused,
		PauseReason:     d.PauseReason,
	}
	if len(skip) > 0 {
		v.EarlySkip = skip[:len(skip):len(skip)]
	}
	// The steps inside their window, contiguous ones merged: status tells
	// a counted position from an uncounted one (uncounted.go).
	v.Batches = appendMerged(nil, d.Batches)
	return v
}

// appendMerged appends steps to dst with contiguous ones merged: the same
// positions and the same count of resolved admissions.
func appendMerged(dst, steps []AdmitBatch) []AdmitBatch {
	for _, b := range steps {
		if n := len(dst); n > 0 && dst[n-1].To == b.From {
			dst[n-1].To = b.To
			dst[n-1].Resolved += b.Resolved
			continue
		}
		dst = append(dst, AdmitBatch{From: b.From, To: b.To, Resolved: b.Resolved})
	}
	return dst
}

// sameMerged reports whether merged is steps merged (appendMerged), without
// building the merged copy: publishing views after every applied batch
// allocates nothing for a drop whose view did not change.
func sameMerged(merged, steps []AdmitBatch) bool {
	i := -1 // the merged step cur is built as
	var cur AdmitBatch
	for _, b := range steps {
		if i >= 0 && cur.To == b.From {
			cur.To = b.To
			cur.Resolved += b.Resolved
			continue
		}
		if i >= 0 && merged[i] != cur {
			return false
		}
		if i++; i >= len(merged) {
			return false
		}
		cur = AdmitBatch{From: b.From, To: b.To, Resolved: b.Resolved}
	}
	return i == len(merged)-1 && (i < 0 || merged[i] == cur)
}

// sameQueueView reports whether view v still answers as d does.
func sameQueueView(v, d *Drop, skip []int64) bool {
	return v.Available == d.Available && v.Held == d.Held && v.Sold == d.Sold &&
		v.Closed == d.Closed && v.AwaitingPayment == d.AwaitingPayment &&
		v.Started == d.Started && v.Seed == d.Seed && v.EarlyTotal == d.EarlyTotal &&
		v.LateNext == d.LateNext && v.Issued == d.Issued && v.AdmittedUpTo == d.AdmittedUpTo &&
		v.Paused == d.Paused && v.PauseReason == d.PauseReason &&
		v.Spec.Stock == d.Spec.Stock && v.Spec.StartsAt == d.Spec.StartsAt &&
		v.Spec.AdmitPerSecond == d.Spec.AdmitPerSecond && v.Spec.ID == d.Spec.ID &&
		v.Spec.PerCustomerLimit == d.Spec.PerCustomerLimit && v.Spec.Mode == d.Spec.Mode &&
		sameMerged(v.Batches, d.Batches) && slices.Equal(v.Gaps, d.Gaps) &&
		len(v.EarlySkip) == len(skip) && (len(skip) == 0 || &v.EarlySkip[0] == &skip[0])
}
