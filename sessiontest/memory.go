package sessiontest

import (
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/fakebill/toolkit/fakebill"
	"github.com/fakebill/toolkit/internal/memnet"
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
	s.mem = memnet.Listen(memoryHost)
	s.memClient = &http.Client{Transport: &http.Transport{
		DialContext: s.mem.Dial,
		// A proxy from the environment would be dialed through the
		// in-memory listener and refused; say plainly there is none.
		Proxy: nil,
	}}
	s.ts = &httptest.Server{Listener: s.mem, Config: &http.Server{Handler: s.fake}}
	s.Config = s.ts.Config
	s.Start()
	return s, nil
}
