package fakebill

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// readForm reads the body of x into x.form: URL-encoded or multipart, the
// first of duplicate fields winning, any other content type read as an
// empty form. It answers and reports false for an oversize or unreadable
// body.
func (s *Server) readForm(x *exchange) bool {
	x.form.reset(x.formBuf[:0])
	if x.r.Body == nil || x.r.Method == http.MethodGet {
		return true
	}
	// A declared length over the limit is refused unread: reading would
	// make net/http answer "100 Continue" to a client that expects it,
	// inviting a body we are going to refuse.
	if x.r.ContentLength > s.opts.MaxBody {
		x.now = s.now()
		s.fail(x, http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "")
		return false
	}
	buf := bodyBufs.Get().(*[]byte)
	defer putBodyBuf(buf)
	body, err := readBody(x.r.Body, s.opts.MaxBody+1, (*buf)[:0])
	*buf = body
	switch {
	case int64(len(body)) > s.opts.MaxBody:
		x.now = s.now()
		s.fail(x, http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "")
		return false
	case err != nil:
		x.now = s.now()
		x.entry.Note = bodyErrorNote(err)
		s.fail(x, http.StatusBadRequest, CodeRequestUnreadable, "")
		return false
	}

	// The type clients send, spelled as they send it, needs no parsing.
	mediaType, params := urlEncoded, map[string]string(nil)
	if ct := x.r.Header.Get("Content-Type"); ct != urlEncoded {
		mediaType, params, _ = mime.ParseMediaType(ct)
	}
	switch mediaType {
	case urlEncoded:
		parseURLEncoded(string(body), &x.form)
	case "multipart/form-data":
		parseMultipart(body, params["boundary"], &x.form)
	}
	x.entry.DataSHA256 = dataHash(&x.form)
	return true
}

const urlEncoded = "application/x-www-form-urlencoded"

// bodyBufs recycles the buffers request bodies are read into: the form
// keeps a string copy of the body, so a buffer is free once it is parsed.
var bodyBufs = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledBody is the largest buffer kept for reuse; a rare large body
// should not pin its memory.
const maxPooledBody = 64 << 10

func putBodyBuf(buf *[]byte) {
	if cap(*buf) <= maxPooledBody {
		bodyBufs.Put(buf)
	}
}

// readBody appends to buf what r holds, up to limit bytes, as
// io.ReadAll(io.LimitReader(r, limit)) would, without allocating once
// buf is large enough.
func readBody(r io.Reader, limit int64, buf []byte) ([]byte, error) {
	if cap(buf) == 0 {
		buf = make([]byte, 0, 512)
	}
	for int64(len(buf)) < limit {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // let append pick the growth
		}
		end := cap(buf)
		if int64(end) > limit {
			end = int(limit)
		}
		n, err := r.Read(buf[len(buf):end])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// formField is one field of a request body.
type formField struct{ key, value string }

// formIndexAt is the number of fields from which a form indexes its keys
// in a map: below it, looking through the fields is quicker, and most
// requests have a handful of fields.
const formIndexAt = 16

// form holds the fields of a request body, the first value of each, in
// the order they came.
type form struct {
	fields []formField
	index  map[string]int // key to position, once there are formIndexAt fields
}

// reset empties f, reusing buf for its fields.
func (f *form) reset(buf []formField) { *f = form{fields: buf} }

// get returns the value of the field named key.
func (f *form) get(key string) (string, bool) {
	if f.index != nil {
		i, ok := f.index[key]
		if !ok {
			return "", false
		}
		return f.fields[i].value, true
	}
	for _, kv := range f.fields {
		if kv.key == key {
			return kv.value, true
		}
	}
	return "", false
}

// value returns the value of the field named key, "" if there is none.
func (f *form) value(key string) string {
	v, _ := f.get(key)
	return v
}

// add adds a field; the caller has checked that none named key came
// first.
func (f *form) add(key, value string) {
	f.fields = append(f.fields, formField{key, value})
	switch n := len(f.fields); {
	case f.index != nil:
		f.index[key] = n - 1
	case n == formIndexAt:
		f.index = make(map[string]int, 2*n)
		for i, kv := range f.fields {
			f.index[kv.key] = i
		}
	}
}

// bodyErrorNote says, for the journal, why a body could not be read: a
// client that stalls meets the server's read timeout, one that hangs up
// early leaves the body short.
func bodyErrorNote(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "reading the request body timed out"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "request body ended before its Content-Length"
	}
	return "request body could not be read"
}

// parseURLEncoded adds the pairs of an URL-encoded body to form, first
// value winning; bad escapes are kept as they are.
func parseURLEncoded(body string, f *form) {
	for body != "" {
		var pair string
		pair, body, _ = strings.Cut(body, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k = unescape(k)
		if _, dup := f.get(k); !dup {
			f.add(k, unescape(v))
		}
	}
}

func unescape(s string) string {
	// Two byte searches: quicker than strings.ContainsAny(s, "%+").
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s
	}
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// parseMultipart adds the fields of a multipart body to form, first value
// winning. It keeps what it read before any malformed part.
func parseMultipart(body []byte, boundary string, f *form) {
	if boundary == "" {
		return
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := mr.NextPart()
		if err != nil {
			return
		}
		name := p.FormName()
		v, err := io.ReadAll(p)
		if err != nil {
			return
		}
		if _, dup := f.get(name); name != "" && !dup {
			f.add(name, string(v))
		}
	}
}

// querySession returns the value of the first query key that reads as
// sessionId or sid, split by hand as the leak detector does.
func querySession(rawQuery string) (string, bool) {
	for rawQuery != "" {
		var pair string
		i := strings.IndexAny(rawQuery, "&;")
		if i < 0 {
			pair, rawQuery = rawQuery, ""
		} else {
			pair, rawQuery = rawQuery[:i], rawQuery[i+1:]
		}
		k, v, _ := strings.Cut(pair, "=")
		if l := keyName(unescape(unescape(k))); l == "sessionid" || l == "sid" {
			return unescape(v), true
		}
	}
	return "", false
}

// The v2 envelope.
type envelope struct {
	Status  int    `json:"response_status"`
	Message string `json:"response_message"`
	Data    any    `json:"response_data"`
}

type errorData struct {
	Code    string `json:"error_code"`
	Message string `json:"error_message"`
}

// fail answers x with a v2 error envelope; msg "" means the code's
// message.
func (s *Server) fail(x *exchange, status int, code, msg string) {
	if msg == "" {
		msg = Message(code)
	}
	x.entry.Code = code
	s.writeJSON(x, status, envelope{Status: 1, Message: "Error", Data: errorData{code, msg}})
}

// failParam answers BDC_1108 or BDC_1129 naming a parameter.
func (s *Server) failParam(x *exchange, code string, args ...any) {
	s.fail(x, http.StatusOK, code, fmt.Sprintf(Message(code), args...))
}

// succeed answers x with a v2 success envelope.
func (s *Server) succeed(x *exchange, data any) {
	s.writeJSON(x, http.StatusOK, envelope{Status: 0, Message: "Success", Data: data})
}

func (s *Server) writeJSON(x *exchange, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		x.entry.Code = CodeSystemError
		b, _ = json.Marshal(envelope{Status: 1, Message: "Error",
			Data: errorData{CodeSystemError, Message(CodeSystemError)}})
	}
	s.writeRaw(x, status, "application/json", b)
}

func (s *Server) writeRaw(x *exchange, status int, contentType string, b []byte) {
	if x.wrote {
		return
	}
	x.wrote = true
	x.entry.Status = status
	// One allocation for both values; each key gets a slice of its own
	// capacity, so appending to one cannot touch the other.
	vals := []string{contentType, "no-store"}
	h := x.w.Header()
	h["Content-Type"] = vals[0:1:1]
	h["Cache-Control"] = vals[1:2:2]
	x.w.WriteHeader(status)
	x.w.Write(b)
}

// clearCookie tells the client to drop its sid cookie.
func clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: "sid", Value: "", Path: "/", MaxAge: -1})
}
