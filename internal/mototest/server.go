// Package mototest runs a moto server (a third-party AWS emulator) for
// integration tests and seeds an organization in it. The server listens on a
// free 127.0.0.1 port and is stopped by the returned function.
package mototest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Server is a running moto server.
type Server struct {
	URL string
	cmd *exec.Cmd
}

// ErrUnavailable means moto is not installed.
var ErrUnavailable = errors.New("moto server is not available (pip install \"moto[server]\")")

// Start launches `python3 -m moto.server` on a free loopback port and returns
// once it says it is listening (it prints "Running on http://…").
func Start(ctx context.Context) (*Server, error) {
	python := os.Getenv("ORGSCAN_PYTHON")
	if python == "" {
		python = "python3"
	}
	if err := exec.Command(python, "-c", "import moto.server").Run(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(python, "-m", "moto.server", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdout = nil
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd}
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		signalled := false
		var tail []string
		for sc.Scan() {
			line := sc.Text()
			if !signalled {
				tail = append(tail, line)
				if strings.Contains(line, "Running on http://") {
					signalled = true
					ready <- nil
				}
			}
			// keep draining so moto never blocks on a full pipe
		}
		if !signalled {
			ready <- fmt.Errorf("moto exited before listening: %s", strings.Join(tail, " | "))
		}
	}()
	select {
	case err := <-ready:
		if err != nil {
			s.Stop()
			return nil, err
		}
	case <-time.After(60 * time.Second):
		s.Stop()
		return nil, errors.New("moto did not start within 60s")
	case <-ctx.Done():
		s.Stop()
		return nil, ctx.Err()
	}
	return s, nil
}

// Reset wipes all of moto's state.
func (s *Server) Reset() error {
	resp, err := http.Post(s.URL+"/moto-api/reset", "application/json", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("moto reset: %s", resp.Status)
	}
	return nil
}

// Stop kills the server and its children.
func (s *Server) Stop() {
	if s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		_ = s.cmd.Wait()
	}
}

// Env returns the environment a test process needs to reach the server
// through the SDK's standard variables, with credentials that are not
// secrets (moto accepts any).
func (s *Server) Env() map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL":            s.URL,
		"AWS_ACCESS_KEY_ID":           "testing",
		"AWS_SECRET_ACCESS_KEY":       "testing",
		"AWS_SESSION_TOKEN":           "",
		"AWS_REGION":                  "us-east-1",
		"AWS_DEFAULT_REGION":          "us-east-1",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED":   "true",
		// Plain HTTP to loopback; a CA bundle would make the SDK rebuild the HTTP client.
		"AWS_CA_BUNDLE": "",
	}
}
