package adapter

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// refuser is the HTTP proxy an adapter's proxy variables point at. It
// refuses every request with 403 and remembers the host asked for (never
// the path or query, where a leaking client puts its secrets).
type refuser struct {
	srv *http.Server
	url string

	mu    sync.Mutex
	hosts []string
	count map[string]int
}

func newRefuser() (*refuser, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &refuser{url: "http://" + ln.Addr().String(), count: make(map[string]int)}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

// URL is the proxy's address, for HTTP_PROXY.
func (r *refuser) URL() string { return r.url }

func (r *refuser) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	host := req.Host
	if req.Method != http.MethodConnect && req.URL.Host != "" {
		host = req.URL.Host
	}
	r.mu.Lock()
	if r.count[host] == 0 {
		r.hosts = append(r.hosts, host)
	}
	r.count[host]++
	r.mu.Unlock()
	w.Header().Set("Connection", "close")
	http.Error(w, "fakebill conform: the client under test may reach only FAKEBILL_URL", http.StatusForbidden)
}

// Problems describes each host a request was attempted to, in order.
func (r *refuser) Problems() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, h := range r.hosts {
		n := r.count[h]
		times := "once"
		if n > 1 {
			times = fmt.Sprintf("%d times", n)
		}
		out = append(out, fmt.Sprintf("the client tried to reach %q through the proxy (%s); "+
			"a client under test may reach only FAKEBILL_URL (loopback goes direct: NO_PROXY)", h, times))
	}
	return out
}

// Close stops the proxy; its record stays readable.
func (r *refuser) Close() { r.srv.Close() }
