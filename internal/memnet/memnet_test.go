package memnet

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestServeOverPipes(t *testing.T) {
	l := Listen("127.0.0.1:1")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+r.URL.Path)
	})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()

	tr := &http.Transport{DialContext: l.Dial}
	c := &http.Client{Transport: tr}
	resp, err := c.Get("http://127.0.0.1:1/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello /x" {
		t.Errorf("body = %q, want %q", body, "hello /x")
	}

	if _, err := c.Get("http://127.0.0.1:2/x"); err == nil || !strings.Contains(err.Error(), "reaches only 127.0.0.1:1") {
		t.Errorf("Get of another host: error = %v, want a refusal naming the listener's host", err)
	}

	tr.CloseIdleConnections()
	srv.Close()
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve = %v, want http.ErrServerClosed", err)
	}
	if _, err := l.Dial(context.Background(), "tcp", "127.0.0.1:1"); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Dial after Close: error = %v, want net.ErrClosed", err)
	}
	if l.Addr().String() != "127.0.0.1:1" || l.Addr().Network() != "memory" {
		t.Errorf("Addr() = %s/%s, want memory/127.0.0.1:1", l.Addr().Network(), l.Addr())
	}
}

func TestDialGivesUpWithItsContext(t *testing.T) {
	l := Listen("127.0.0.1:1") // nobody accepts
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Dial(ctx, "tcp", "127.0.0.1:1"); !errors.Is(err, context.Canceled) {
		t.Errorf("Dial with a cancelled context: error = %v, want context.Canceled", err)
	}
}
