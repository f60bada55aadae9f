package sale

// Admission with a per-customer limit above one.
//
// An admitted visitor may hold up to the per-customer limit L, so the units
// left serve fewer visitors than there are units: admitting one visitor per
// unit would tell visitors "admitted" whom nothing is left for once those
// before them took L each. Admission promises each admitted visitor at
// least one unit, whatever the others take: k visitors admitted and not yet
// decided need, at worst, L units for each of k-1 and one for the last,
// (k-1)*L + 1. With L = 1 that is one unit per visitor, as before.
//
// A draw keeps one winner per unit (API.md: the seed draws `stock`
// winners), so its admission counts one unit per visitor whatever L is.

// unitsPerVisitor is the most units one admitted visitor may take.
func (d *Drop) unitsPerVisitor() int64 {
	if d.IsDraw() {
		return 1
	}
	return max(d.Spec.PerCustomerLimit, 1)
}

// servable is how many more visitors may be admitted, with unresolved
// admitted and undecided already, so that each still finds a unit.
func (d *Drop) servable(unresolved int64) int64 {
	if d.Available <= 0 {
		return 0
	}
	return (d.Available-1)/d.unitsPerVisitor() + 1 - unresolved
}

// promised is how many of the units available the unresolved visitors
// admitted and undecided may need, at worst, for each to find one.
func (d *Drop) promised(unresolved int64) int64 {
	if unresolved <= 0 {
		return 0
	}
	l := d.unitsPerVisitor()
	if unresolved-1 > d.Available/l {
		return d.Available // more than there is (and no overflow)
	}
	return (unresolved-1)*l + 1
}
