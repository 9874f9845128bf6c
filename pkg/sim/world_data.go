package sim

// genData generates this group's resources, metric series and ground truth.
func (g *gen) genData(n int) {}

// churnData deletes this group's resources for which del says so, and
// their ground truth.
func (g *gen) churnData(del func(id string) bool) {}
