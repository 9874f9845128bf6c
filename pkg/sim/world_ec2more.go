package sim

// genEC2More generates this group's resources, metric series and ground truth.
func (g *gen) genEC2More(n int) {}

// churnEC2More deletes this group's resources for which del says so, and
// their ground truth.
func (g *gen) churnEC2More(del func(id string) bool) {}
