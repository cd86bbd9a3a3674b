// Package memnet is an in-memory network for serving HTTP with no socket:
// a listener whose connections are [net.Pipe]s made by its Dial method.
// Everything it waits on is a channel, so a goroutine blocked on it is
// durably blocked inside a testing/synctest bubble, and virtual time can
// advance while a server waits for requests.
package memnet

import (
	"context"
	"fmt"
	"net"
	"sync"
)

// Listener is a [net.Listener] reached only through its Dial method.
type Listener struct {
	host  string
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

// Listen returns a Listener that answers dials of host ("127.0.0.1:1").
// Name a loopback port nothing serves, so that a client which bypasses
// Dial fails at once instead of reaching anything.
func Listen(host string) *Listener {
	return &Listener{host: host, conns: make(chan net.Conn), done: make(chan struct{})}
}

// Accept waits for the next dial.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops Accept and makes later dials fail.
func (l *Listener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr returns the host the listener answers.
func (l *Listener) Addr() net.Addr { return addr(l.host) }

// Dial connects to the listener; it has the signature of
// [net/http.Transport.DialContext]. It refuses any other address, so that
// a client sent elsewhere (say by an apiEndPoint it should not follow)
// fails visibly rather than quietly reaching the fake.
func (l *Listener) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	if address != l.host {
		return nil, fmt.Errorf("memnet: this client reaches only %s, not %s", l.host, address)
	}
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		client.Close()
		server.Close()
		return nil, fmt.Errorf("memnet: dial %s: %w", address, net.ErrClosed)
	case <-ctx.Done():
		client.Close()
		server.Close()
		return nil, ctx.Err()
	}
}

// addr is the listener's address.
type addr string

func (addr) Network() string  { return "memory" }
func (a addr) String() string { return string(a) }
