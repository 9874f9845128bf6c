package checks

import (
	"sort"

	"github.com/orgscan/orgscan/pkg/checks/catalog"
)

// registry is every check orgscan runs, in report order. Registering a check
// is one line in its group's list.
var registry = concat(
	[]Check{
		EC2IdleInstance,
		EBSUnattachedVolume,
		EC2UnassociatedEIP,
		VPCIdleNATGateway,
		LambdaUnusedFunction,
		RDSIdleInstance,
	},
	ec2Checks,
	elbChecks,
	dataChecks,
)

func concat(groups ...[]Check) []Check {
	var out []Check
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// All returns every registered check. The slice is a copy.
func All() []Check { return append([]Check(nil), registry...) }

// UnknownCheckError names a check ID that is not registered.
type UnknownCheckError = catalog.UnknownCheckError

// IDs returns the registered check IDs in registry order.
func IDs() []string {
	out := make([]string, len(registry))
	for i, c := range registry {
		out[i] = c.ID
	}
	return out
}

// Lookup returns the check with the given ID.
func Lookup(id string) (Check, bool) {
	for _, c := range registry {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}

// Select returns the checks named by ids in registry order, without
// duplicates; no ids selects all. An unknown ID is an *UnknownCheckError.
// The catalog, which holds the registry's IDs in its order, selects.
func Select(ids []string) ([]Check, error) {
	es, err := catalog.Select(ids)
	if err != nil {
		return nil, err
	}
	out := make([]Check, 0, len(es))
	for _, e := range es {
		c, ok := Lookup(e.ID)
		if !ok {
			return nil, &UnknownCheckError{ID: e.ID} // a stale catalog: `make docs`
		}
		out = append(out, c)
	}
	return out, nil
}

// Actions returns the sorted union of the IAM actions of cs.
func Actions(cs []Check) []string {
	set := map[string]bool{}
	for _, c := range cs {
		for _, a := range c.Actions {
			set[a] = true
		}
	}
	out := make([]string, 0, len(set))
	for a := range set {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}
