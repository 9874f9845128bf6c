package doctor

import (
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"strings"
)

// policyDocument is an IAM policy as far as the doctor reads it.
type policyDocument struct {
	Statement oneOrMany[policyStatement] `json:"Statement"`
}

type policyStatement struct {
	Effect string            `json:"Effect"`
	Action oneOrMany[string] `json:"Action"`
}

// oneOrMany is a policy field that is a value or a list of them.
type oneOrMany[T any] []T

func (o *oneOrMany[T]) UnmarshalJSON(b []byte) error {
	var many []T
	if err := json.Unmarshal(b, &many); err == nil {
		*o = many
		return nil
	}
	var one T
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	*o = []T{one}
	return nil
}

// missingActions returns the actions of want that the policy document does
// not allow. IAM returns documents URL-encoded (RFC 3986); an already
// decoded document is read as it is. Action patterns may use * and ?, and
// match case-insensitively, as IAM's do.
func missingActions(document string, want []string) ([]string, error) {
	doc := strings.TrimSpace(document)
	if !strings.HasPrefix(doc, "{") {
		d, err := url.PathUnescape(doc)
		if err != nil {
			return nil, fmt.Errorf("policy document is not URL-encoded JSON: %w", err)
		}
		doc = d
	}
	var p policyDocument
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return nil, fmt.Errorf("policy document is not JSON: %w", err)
	}
	var allowed []string
	for _, s := range p.Statement {
		if s.Effect == "Allow" {
			for _, a := range s.Action {
				allowed = append(allowed, strings.ToLower(a))
			}
		}
	}
	var missing []string
	for _, w := range want {
		lw := strings.ToLower(w)
		found := false
		for _, a := range allowed {
			// path.Match's * and ? never cross a '/', which actions lack.
			if ok, _ := path.Match(a, lw); ok || a == lw {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, w)
		}
	}
	return missing, nil
}
