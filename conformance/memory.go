package conformance

import (
	"net/http"

	"github.com/fakebill/toolkit/internal/memnet"
)

// memoryHost is the host:port the in-memory fake's URL names: a loopback
// port nothing serves, so a client that ignores Env.HTTPClient fails at
// once and reaches no one.
const memoryHost = "127.0.0.1:1"

// newInMemory serves h on an in-memory listener. Only the returned client,
// which dials the listener, reaches it.
func newInMemory(h http.Handler) *loopback {
	l := memnet.Listen(memoryHost)
	srv := &http.Server{Handler: h}
	served := make(chan struct{})
	go func() {
		srv.Serve(l)
		close(served)
	}()
	tr := &http.Transport{Proxy: nil, DialContext: l.Dial, MaxIdleConnsPerHost: 16}
	return &loopback{
		url:    "http://" + memoryHost,
		client: &http.Client{Transport: tr},
		close: func() {
			tr.CloseIdleConnections()
			srv.Close()
			<-served
		},
	}
}
