package conformance

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
)

// memListener is a net.Listener whose connections are in-memory pipes, so
// that a fake served inside a testing/synctest bubble blocks durably and
// virtual time can advance while it waits.
type memListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

var errListenerClosed = errors.New("conformance: in-memory listener closed")

func newMemListener() *memListener {
	return &memListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, errListenerClosed
	}
}

func (l *memListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *memListener) Addr() net.Addr { return memAddr{} }

// dial hands the server one end of a new pipe and returns the other.
func (l *memListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		client.Close()
		server.Close()
		return nil, errListenerClosed
	case <-ctx.Done():
		client.Close()
		server.Close()
		return nil, ctx.Err()
	}
}

type memAddr struct{}

func (memAddr) Network() string { return "memory" }
func (memAddr) String() string  { return "memory" }

// newInMemory serves h on an in-memory listener. Only the returned client,
// which dials the listener, reaches it; the URL names loopback port 0, so a
// client that ignores Env.HTTPClient fails at once and reaches no one.
func newInMemory(h http.Handler) *loopback {
	l := newMemListener()
	srv := &http.Server{Handler: h}
	served := make(chan struct{})
	go func() {
		srv.Serve(l)
		close(served)
	}()
	tr := &http.Transport{Proxy: nil, DialContext: l.dial, MaxIdleConnsPerHost: 16}
	return &loopback{
		url:    "http://127.0.0.1:0",
		client: &http.Client{Transport: tr},
		close: func() {
			tr.CloseIdleConnections()
			srv.Close()
			<-served
		},
	}
}
