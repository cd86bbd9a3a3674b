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
)

// readForm reads the body of x into x.form: URL-encoded or multipart, the
// first of duplicate fields winning, any other content type read as an
// empty form. It answers and reports false for an oversize or unreadable
// body.
func (s *Server) readForm(x *exchange) bool {
	x.form = map[string]string{}
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
	body, err := io.ReadAll(io.LimitReader(x.r.Body, s.opts.MaxBody+1))
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

	mediaType, params, _ := mime.ParseMediaType(x.r.Header.Get("Content-Type"))
	switch mediaType {
	case "application/x-www-form-urlencoded":
		parseURLEncoded(string(body), x.form)
	case "multipart/form-data":
		parseMultipart(body, params["boundary"], x.form)
	}
	x.entry.DataSHA256 = dataHash(x.form)
	return true
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
func parseURLEncoded(body string, form map[string]string) {
	for body != "" {
		var pair string
		pair, body, _ = strings.Cut(body, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k = unescape(k)
		if _, dup := form[k]; !dup {
			form[k] = unescape(v)
		}
	}
}

func unescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// parseMultipart adds the fields of a multipart body to form, first value
// winning. It keeps what it read before any malformed part.
func parseMultipart(body []byte, boundary string, form map[string]string) {
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
		if _, dup := form[name]; name != "" && !dup {
			form[name] = string(v)
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
	h := x.w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	x.w.WriteHeader(status)
	x.w.Write(b)
}

// clearCookie tells the client to drop its sid cookie.
func clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: "sid", Value: "", Path: "/", MaxAge: -1})
}
