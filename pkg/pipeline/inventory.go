package pipeline

import "time"

// InventoryKey is where the collector writes the resources one pair's
// inventory described.
func InventoryKey(runID, accountID, region string) string {
	return "runs/" + runID + "/inventory/" + accountID + "/" + region + ".jsonl.gz"
}

// InventoryRecord is one resource a run saw, whether wasteful or not: the
// inventory table's row, for the resource explorer.
type InventoryRecord struct {
	RunID        string            `json:"runId"`
	AccountID    string            `json:"accountId"`
	AccountName  string            `json:"accountName,omitempty"`
	Region       string            `json:"region"`
	ResourceType string            `json:"resourceType"`
	ResourceID   string            `json:"resourceId"`
	ResourceARN  string            `json:"resourceArn,omitempty"`
	Name         string            `json:"name,omitempty"`
	State        string            `json:"state,omitempty"`
	CreatedAt    *time.Time        `json:"createdAt,omitempty"`
	Tags         map[string]string `json:"tags,omitempty"`
}
