package sessiontest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/fakebill/toolkit/fakebill"
)

// memoryHost is the host:port an in-memory server's URL names. It is a
// loopback port nothing serves, so that a client which bypasses
// [Server.Client] fails at once instead of reaching anything.
const memoryHost = "127.0.0.1:1"

// NewInMemory starts and returns a Server that opens no socket: its
// [Server.Client] dials an in-memory listener, through an ordinary
// [http.Transport], so connections, keep-alive and request bodies behave
// as on a socket. The fake reads time.Now, and Clock is nil.
//
// Inside a testing/synctest bubble, time.Now is virtual, so the client's
// own timers and the fake's idle expiry move together with no clock
// injection; create the server inside the bubble (see [RunSynctest]),
// since a bubble cannot use channels made outside it. Outside a bubble it
// serves in real time, which suits benchmarks.
//
// The caller should call Close when finished. NewInMemory panics, with a
// "sessiontest:" prefix, if opts is invalid.
func NewInMemory(opts *Options) *Server {
	s, err := newInMemory(opts)
	if err != nil {
		panic(err.Error())
	}
	return s
}

func newInMemory(opts *Options) (*Server, error) {
	if opts == nil {
		opts = &Options{}
	}
	s, err := build(opts, fakebill.ClockFunc(time.Now))
	if err != nil {
		return nil, err
	}
	s.mem = newMemListener()
	s.memClient = &http.Client{Transport: &http.Transport{
		DialContext: s.mem.dial,
		// A proxy from the environment would be dialed through the
		// in-memory listener and refused; say plainly there is none.
		Proxy: nil,
	}}
	s.ts = &httptest.Server{Listener: s.mem, Config: &http.Server{Handler: s.fake}}
	s.Config = s.ts.Config
	s.Start()
	return s, nil
}

// memListener is a [net.Listener] whose connections are [net.Pipe]s made
// by its dial method. Everything it uses is a channel, so a goroutine
// blocked on it is durably blocked inside a synctest bubble.
type memListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newMemListener() *memListener {
	return &memListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

// Accept waits for the next dial.
func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops Accept and makes later dials fail.
func (l *memListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr returns the address the server's URL names.
func (l *memListener) Addr() net.Addr { return memAddr{} }

// dial connects to the listener. It refuses any other address, so that a
// client sent elsewhere (say by an apiEndPoint it should not follow)
// fails visibly rather than quietly reaching the fake.
func (l *memListener) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if addr != memoryHost {
		return nil, fmt.Errorf("sessiontest: the in-memory client reaches only %s, not %s", memoryHost, addr)
	}
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		client.Close()
		server.Close()
		return nil, fmt.Errorf("sessiontest: dial %s: %w", addr, net.ErrClosed)
	case <-ctx.Done():
		client.Close()
		server.Close()
		return nil, ctx.Err()
	}
}

// memAddr is the address of the in-memory listener.
type memAddr struct{}

func (memAddr) Network() string { return "memory" }
func (memAddr) String() string  { return memoryHost }
