// Package syncbuf is a bytes.Buffer that one goroutine may read while
// others write: a server's or a client's log captured by a test or a
// check.
package syncbuf

import (
	"bytes"
	"sync"
)

// Buffer collects writes. The zero value is ready to use; it is safe
// for concurrent use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
