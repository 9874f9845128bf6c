package sim

// genELB generates this group's resources, metric series and ground truth.
func (g *gen) genELB(n int) {}

// churnELB deletes this group's resources for which del says so, and
// their ground truth.
func (g *gen) churnELB(del func(id string) bool) {}
