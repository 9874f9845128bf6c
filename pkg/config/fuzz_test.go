package config

import (
	"errors"
	"testing"
)

// FuzzParse: a configuration file never panics the parser; a refusal is a
// *Error naming the file.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "checks: {}", "checks:\n  ec2-idle-instance:\n    params: {cpuPercent: 3}\n",
		"checks:\n  \"*\":\n    exclude:\n      - tags: {env: \"dev*\"}\n", `{"checks":{"rds-idle-instance":{"params":{"maxConnections":2}}}}`,
		"checks: [", "checks:\n  x: 1\n", "checks:\n  ec2-idle-instance:\n    params:\n      lookbackDays: .nan\n", "- a\n- b\n", "&a [*a]"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := Parse("fuzz.yaml", b)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || ce.File != "fuzz.yaml" {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		for _, e := range cfg.Exclusions {
			if err := e.Validate(); err != nil {
				t.Fatalf("accepted an invalid exclusion %+v: %v", e, err)
			}
		}
	})
}
