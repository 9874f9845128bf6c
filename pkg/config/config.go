// Package config reads orgscan's configuration file (YAML, or JSON, which
// is YAML too): per-check threshold and lookback overrides, and exclusions
// that mark findings suppressed. A malformed file is rejected before a run
// starts with the line and the field at fault.
//
//	checks:
//	  ec2-idle-instance:
//	    params: {cpuPercent: 3, lookbackDays: 21}
//	    exclude:
//	      - tags: {env: "dev*"}
//	        reason: dev boxes idle by design
//	  "*":                      # every check
//	    exclude:
//	      - accounts: ["123456789012"]
//	        regions: [eu-west-1]
//	        resources: ["i-0abc*", "arn:aws:ec2:*:*:volume/vol-0def"]
//	ignoreTag:                  # where the orgscan:ignore tag counts
//	  honour: accounts          # any (default), none, or accounts
//	  accounts: ["111111111111"]
package config

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/pipeline"
)

// AllChecks is the key whose settings apply to every check.
const AllChecks = "*"

// Config is a loaded configuration file.
type Config struct {
	// Params are threshold overrides by check ID, then parameter name.
	Params map[string]map[string]float64
	// Exclusions suppress the findings they match.
	Exclusions []finding.Exclusion
	// IgnoreTag says where the orgscan:ignore tag is honoured (nil: the
	// default, everywhere).
	IgnoreTag *finding.TagPolicy
}

// Error is a configuration problem, with where it is.
type Error struct {
	File   string
	Line   int
	Field  string // dotted path, e.g. checks.ec2-idle-instance.params.cpuPercent
	Reason string
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", loc, e.Reason)
	}
	return fmt.Sprintf("%s: %s: %s", loc, e.Field, e.Reason)
}

// Load reads and validates a configuration file.
func Load(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, &Error{File: path, Reason: err.Error()}
	}
	return Parse(path, b)
}

// Parse validates a configuration held in memory; name labels errors.
func Parse(name string, b []byte) (Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return Config{}, &Error{File: name, Reason: te.Error()}
		}
		return Config{}, &Error{File: name, Reason: "not valid YAML or JSON: " + err.Error()}
	}
	p := parser{file: name}
	cfg := Config{Params: map[string]map[string]float64{}}
	if len(doc.Content) == 0 {
		return cfg, nil // an empty file configures nothing
	}
	root := doc.Content[0]
	if err := p.mapping(root, ""); err != nil {
		return Config{}, err
	}
	for i := 0; i < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "checks":
			if err := p.checks(v, &cfg); err != nil {
				return Config{}, err
			}
		case "ignoreTag":
			policy, err := p.tagPolicy(v)
			if err != nil {
				return Config{}, err
			}
			cfg.IgnoreTag = &policy
		default:
			return Config{}, p.err(k, k.Value, "unknown field (known: checks, ignoreTag)")
		}
	}
	return cfg, nil
}

type parser struct{ file string }

func (p parser) err(n *yaml.Node, field, reason string) error {
	return &Error{File: p.file, Line: n.Line, Field: field, Reason: reason}
}

func (p parser) mapping(n *yaml.Node, field string) error {
	if n.Kind != yaml.MappingNode {
		return p.err(n, field, "must be a mapping of names to values")
	}
	// A key given twice would silently lose one of its values.
	seen := map[string]int{}
	for i := 0; i < len(n.Content); i += 2 {
		k := n.Content[i]
		if line, ok := seen[k.Value]; ok {
			name := k.Value
			if field != "" {
				name = field + "." + k.Value
			}
			return p.err(k, name, fmt.Sprintf("given twice (first on line %d)", line))
		}
		seen[k.Value] = k.Line
	}
	return nil
}

func (p parser) strings(n *yaml.Node, field string) ([]string, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, p.err(n, field, "must be a list")
	}
	out := make([]string, 0, len(n.Content))
	for i, c := range n.Content {
		if c.Kind != yaml.ScalarNode || c.Tag == "!!null" {
			return nil, p.err(c, fmt.Sprintf("%s[%d]", field, i), "must be a string")
		}
		out = append(out, c.Value)
	}
	return out, nil
}

// tagPolicy reads ignoreTag: {honour: any|none|accounts, accounts: [...]}.
func (p parser) tagPolicy(n *yaml.Node) (finding.TagPolicy, error) {
	var out finding.TagPolicy
	if err := p.mapping(n, "ignoreTag"); err != nil {
		return out, err
	}
	for i := 0; i < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "honour":
			if v.Kind != yaml.ScalarNode {
				return out, p.err(v, "ignoreTag.honour", "must be any, none or accounts")
			}
			out.Honour = v.Value
		case "accounts":
			accts, err := p.strings(v, "ignoreTag.accounts")
			if err != nil {
				return out, err
			}
			out.Accounts = accts
		default:
			return out, p.err(k, "ignoreTag."+k.Value, "unknown field (known: honour, accounts)")
		}
	}
	if err := out.Validate(); err != nil {
		var ee *finding.ExclusionError
		if errors.As(err, &ee) {
			reason := ee.Reason
			if ee.Value != "" {
				reason = fmt.Sprintf("%q %s", ee.Value, ee.Reason)
			}
			return out, p.err(n, ee.Field, reason)
		}
		return out, p.err(n, "ignoreTag", err.Error())
	}
	return out, nil
}

func (p parser) checks(n *yaml.Node, cfg *Config) error {
	if err := p.mapping(n, "checks"); err != nil {
		return err
	}
	for i := 0; i < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		id := k.Value
		field := "checks." + id
		var ch checks.Check
		if id != AllChecks {
			c, ok := checks.Lookup(id)
			if !ok {
				return p.err(k, field, "unknown check (see `orgscan checks`)")
			}
			ch = c
		}
		if err := p.mapping(v, field); err != nil {
			return err
		}
		for j := 0; j < len(v.Content); j += 2 {
			kk, vv := v.Content[j], v.Content[j+1]
			switch kk.Value {
			case "params":
				if id == AllChecks {
					return p.err(kk, field+".params", "parameters belong to one check (use --lookback-days for all)")
				}
				params, err := p.params(vv, field+".params", ch)
				if err != nil {
					return err
				}
				cfg.Params[id] = params
			case "exclude":
				ex, err := p.exclusions(vv, field+".exclude", id)
				if err != nil {
					return err
				}
				cfg.Exclusions = append(cfg.Exclusions, ex...)
			default:
				return p.err(kk, field+"."+kk.Value, "unknown field (known: params, exclude)")
			}
		}
	}
	return nil
}

func (p parser) params(n *yaml.Node, field string, ch checks.Check) (map[string]float64, error) {
	if err := p.mapping(n, field); err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for i := 0; i < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		f := field + "." + k.Value
		if v.Kind != yaml.ScalarNode || (v.Tag != "!!int" && v.Tag != "!!float") {
			return nil, p.err(v, f, fmt.Sprintf("must be a number, got %q", v.Value))
		}
		x, err := strconv.ParseFloat(v.Value, 64)
		if err != nil {
			return nil, p.err(v, f, fmt.Sprintf("must be a number, got %q", v.Value))
		}
		if _, err := ch.Resolve(map[string]float64{k.Value: x}); err != nil {
			var pe *checks.ParamError
			if errors.As(err, &pe) {
				reason := pe.Reason
				if !strings.HasPrefix(reason, "unknown parameter") {
					reason += ", got " + v.Value
				}
				return nil, p.err(v, f, reason)
			}
			return nil, p.err(v, f, err.Error())
		}
		out[k.Value] = x
	}
	return out, nil
}

func (p parser) exclusions(n *yaml.Node, field, checkID string) ([]finding.Exclusion, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, p.err(n, field, "must be a list of exclusions")
	}
	var out []finding.Exclusion
	for i, item := range n.Content {
		f := fmt.Sprintf("%s[%d]", field, i)
		if err := p.mapping(item, f); err != nil {
			return nil, err
		}
		var e finding.Exclusion
		if checkID != AllChecks {
			e.Checks = []string{checkID}
		}
		for j := 0; j < len(item.Content); j += 2 {
			k, v := item.Content[j], item.Content[j+1]
			ff := f + "." + k.Value
			var err error
			switch k.Value {
			case "accounts":
				if e.Accounts, err = p.strings(v, ff); err == nil {
					for _, a := range e.Accounts {
						if !pipeline.ValidAccountID(a) {
							return nil, p.err(v, ff, fmt.Sprintf("%q is not a 12-digit AWS account ID", a))
						}
					}
				}
			case "regions":
				if e.Regions, err = p.strings(v, ff); err == nil {
					for _, r := range e.Regions {
						if !pipeline.ValidRegion(r) {
							return nil, p.err(v, ff, fmt.Sprintf("%q is not an AWS region name", r))
						}
					}
				}
			case "resources":
				e.Resources, err = p.strings(v, ff)
			case "tags":
				if err = p.mapping(v, ff); err == nil {
					e.Tags = map[string]string{}
					for t := 0; t < len(v.Content); t += 2 {
						tk, tv := v.Content[t], v.Content[t+1]
						if tv.Kind != yaml.ScalarNode {
							return nil, p.err(tv, ff+"."+tk.Value, "must be a string (a glob of the tag's value)")
						}
						e.Tags[tk.Value] = tv.Value
					}
				}
			case "reason":
				if v.Kind != yaml.ScalarNode {
					return nil, p.err(v, ff, "must be a string")
				}
				e.Reason = v.Value
			default:
				return nil, p.err(k, ff, "unknown field (known: accounts, regions, resources, tags, reason)")
			}
			if err != nil {
				return nil, err
			}
		}
		if err := e.Validate(); err != nil {
			return nil, p.err(item, f, err.Error())
		}
		out = append(out, e)
	}
	return out, nil
}
