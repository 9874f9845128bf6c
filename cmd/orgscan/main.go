// Command orgscan finds idle, unused and wasted AWS resources across an
// organization. `orgscan run` executes the pipeline's handlers in one
// process; `orgscan checks` lists what it looks for.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app := &App{Stdout: os.Stdout, Stderr: os.Stderr, StderrIsTTY: term.IsTerminal(int(os.Stderr.Fd()))}
	os.Exit(app.Main(ctx, os.Args[1:]))
}
