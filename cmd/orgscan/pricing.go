package main

import "context"

// pricing is replaced by the price table generator.
func (a *App) pricing(ctx context.Context, args []string) error {
	return usagef("pricing: not implemented")
}
