package main

import (
	"bytes"
	"context"
	"github.com/fakebill/toolkit/internal/syncbuf"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// binDir holds the fakebill binary the end-to-end tests build once.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fakebill-bin-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	goleak.VerifyTestMain(m, goleak.Cleanup(func(int) { os.RemoveAll(dir) }))
}

// syncBuffer collects output written concurrently.
type syncBuffer = syncbuf.Buffer

// mapEnv is an environment made of m only.
func mapEnv(m map[string]string) lookupEnv {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestRunDispatch(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantStdout string // substring
		wantStderr string // substring
	}{
		{name: "version", args: []string{"version"}, wantCode: 0, wantStdout: "fakebill 0.1.0\n"},
		{name: "version extra arg", args: []string{"version", "x"}, wantCode: 2, wantStderr: `unexpected argument "x"`},
		{name: "help", args: []string{"help"}, wantCode: 0, wantStdout: "fakebill health [-url URL]"},
		{name: "unknown command", args: []string{"sevre"}, wantCode: 2, wantStderr: `unknown command "sevre"`},
		{name: "serve bad flag", args: []string{"serve", "-nope"}, wantCode: 2, wantStderr: "flag provided but not defined: -nope"},
		{name: "default subcommand is serve", args: []string{"-nope"}, wantCode: 2, wantStderr: "usage: fakebill [serve]"},
		{name: "serve help", args: []string{"serve", "-h"}, wantCode: 0, wantStderr: "-idle-timeout"},
		{name: "serve stray argument", args: []string{"serve", "extra"}, wantCode: 2, wantStderr: "serve takes no arguments, got 1"},
		{
			name:       "environment ignored outside serve",
			args:       []string{"version"},
			env:        map[string]string{"FAKEBILL_IDLE_TIMEOUT": "soon"},
			wantCode:   0,
			wantStdout: "fakebill 0.1.0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			got := run(context.Background(), tt.args, mapEnv(tt.env), &stdout, &stderr)
			if got != tt.wantCode {
				t.Errorf("run(%q) = %d, want %d; stderr:\n%s", tt.args, got, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout = %q, want it to contain %q", stdout.String(), tt.wantStdout)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}
